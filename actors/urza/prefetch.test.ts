import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  type BlueprintDescriptor,
  type KernelArtifactError,
  KernelPrefetchResult,
} from "../../contracts/index.ts";
import { buildBlueprint } from "../../nn/blueprints/artifact.ts";
import { KernelPrewarmError } from "./errors.ts";
import { guardDigest } from "./guard-digest.ts";
import { type ArtifactRead, answerPrefetch, type KernelPrewarm, type PrefetchDeps } from "./prefetch.ts";
import { PrewarmSamples } from "./prewarm-samples.ts";

const { bytes, descriptor } = buildBlueprint(
  { kind: "low-rank-linear", inputWidth: 4, hiddenWidth: 2, initSeed: 3 },
  1_700_000_000_000,
);
const id = descriptor.blueprintId;
const request = { requestId: "r1", blueprintId: id, trainingRunId: "run1", issuedAt: 1_700_000_000_000 };

function deps(
  over: { catalog?: Record<string, BlueprintDescriptor>; read?: ArtifactRead; prewarm?: KernelPrewarm } = {},
): PrefetchDeps {
  const catalog = over.catalog ?? { [id]: descriptor };
  const objects = new Map([[descriptor.artifactSha256, bytes]]);
  return {
    catalog: { descriptor: async (bp) => catalog[bp] },
    artifacts: {
      async read(sha) {
        if (over.read !== undefined) return over.read;
        const b = objects.get(sha);
        return b === undefined ? { kind: "missing" } : { kind: "found", bytes: b };
      },
    },
    prewarm: over.prewarm ?? (async () => 5),
    samples: new PrewarmSamples(20),
  };
}

/** The error result's code and detail, after checking it passes the contract and answers request r1. */
function errorOf(result: KernelPrefetchResult): Pick<KernelArtifactError, "code" | "reason"> {
  expect(KernelPrefetchResult.parse(result)).toEqual(result);
  if (result.status !== "error") throw new Error(`expected an error result, got ${JSON.stringify(result)}`);
  expect(result.requestId).toBe("r1");
  return { code: result.code, reason: result.reason };
}

describe("answerPrefetch", () => {
  it("answers ready with the sha256 artifact reference, checksum, guard digest and prewarm percentiles", async () => {
    const result = await answerPrefetch(request, deps());
    expect(KernelPrefetchResult.parse(result)).toEqual(result);
    expect(result).toEqual({
      status: "ready",
      requestId: "r1",
      blueprintId: id,
      artifactRef: descriptor.artifactSha256,
      checksum: createHash("sha256").update(bytes).digest("hex"),
      guardDigest: guardDigest(descriptor),
      prewarmP50Ms: 5,
      prewarmP95Ms: 5,
    });
  });

  it("reports p50/p95 over every prewarm of the blueprint", async () => {
    const times = [10, 20, 30];
    const d = { ...deps(), prewarm: async () => times.shift() ?? Number.NaN };
    await answerPrefetch(request, d);
    await answerPrefetch(request, d);
    const result = await answerPrefetch(request, d);
    expect(result).toMatchObject({ status: "ready", prewarmP50Ms: 20, prewarmP95Ms: 29 });
  });

  it("rejects a blueprint the catalog does not hold with code unknown_blueprint", async () => {
    expect(errorOf(await answerPrefetch(request, deps({ catalog: {} })))).toEqual({
      code: "unknown_blueprint",
      reason: `blueprint ${id} is not in the catalog`,
    });
  });

  it("rejects a catalogued blueprint whose artifact is not stored with code artifact_missing", async () => {
    const { code, reason } = errorOf(await answerPrefetch(request, deps({ read: { kind: "missing" } })));
    expect(code).toBe("artifact_missing");
    expect(reason).toContain(descriptor.artifactSha256);
  });

  it("rejects bytes that do not hash to the descriptor's sha256 with code digest_mismatch", async () => {
    const tampered = bytes.slice();
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 0xff;
    const actual = createHash("sha256").update(tampered).digest("hex");
    const { code, reason } = errorOf(
      await answerPrefetch(request, deps({ read: { kind: "found", bytes: tampered } })),
    );
    expect(code).toBe("digest_mismatch");
    expect(reason).toContain(actual);
    expect(reason).toContain(descriptor.artifactSha256);
  });

  it("rejects an artifact the store reports as corrupt with code digest_mismatch", async () => {
    const actual = "ab".repeat(32);
    const { code, reason } = errorOf(
      await answerPrefetch(request, deps({ read: { kind: "corrupt", actualSha256: actual } })),
    );
    expect(code).toBe("digest_mismatch");
    expect(reason).toContain(actual);
  });

  it("rejects a kernel that fails to prewarm with code kernel_invalid and records no sample", async () => {
    const d = deps({
      prewarm: async () => {
        throw new KernelPrewarmError("kernel x does not load");
      },
    });
    expect(errorOf(await answerPrefetch(request, d))).toEqual({
      code: "kernel_invalid",
      reason: "kernel x does not load",
    });
    expect(() => d.samples.percentiles(id)).toThrow(/no prewarm samples/);
  });

  it("lets other prewarm failures propagate (the bus answers them as service errors)", async () => {
    const d = deps({
      prewarm: async () => {
        throw new RangeError("out of memory");
      },
    });
    await expect(answerPrefetch(request, d)).rejects.toThrow(RangeError);
  });
});
