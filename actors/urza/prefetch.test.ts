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
import { KernelCache } from "./kernel-cache.ts";
import {
  type ArtifactRead,
  answerPrefetch,
  type KernelFailure,
  type KernelPrewarm,
  kernelCacheKey,
  type PrefetchDeps,
  type VerifiedKernel,
} from "./prefetch.ts";
import { PrewarmSamples } from "./prewarm-samples.ts";

const { bytes, descriptor } = buildBlueprint(
  { kind: "low-rank-linear", inputWidth: 4, hiddenWidth: 2, initSeed: 3 },
  1_700_000_000_000,
);
const id = descriptor.blueprintId;
const request = { requestId: "r1", blueprintId: id, trainingRunId: "run1", issuedAt: 1_700_000_000_000 };

function deps(
  over: {
    catalog?: Record<string, BlueprintDescriptor>;
    read?: ArtifactRead;
    prewarm?: KernelPrewarm;
    cacheBytes?: number;
  } = {},
): PrefetchDeps & { reads: string[] } {
  const reads: string[] = [];
  const catalog = over.catalog ?? { [id]: descriptor };
  const objects = new Map([[descriptor.artifactSha256, bytes]]);
  return {
    catalog: { descriptor: async (bp) => catalog[bp] },
    artifacts: {
      async read(sha) {
        reads.push(sha);
        if (over.read !== undefined) return over.read;
        const b = objects.get(sha);
        return b === undefined ? { kind: "missing" } : { kind: "found", bytes: b };
      },
    },
    prewarm: over.prewarm ?? (async () => 5),
    samples: new PrewarmSamples(20),
    cache: new KernelCache<VerifiedKernel | KernelFailure>(over.cacheBytes ?? 1 << 20),
    reads,
  };
}

/** The result of answering `req` (the cache outcome dropped). */
const answer = async (req: typeof request, d: PrefetchDeps) => (await answerPrefetch(req, d)).result;

/** The error result's code and detail, after checking it passes the contract and answers request r1. */
function errorOf(result: KernelPrefetchResult): Pick<KernelArtifactError, "code" | "reason"> {
  expect(KernelPrefetchResult.parse(result)).toEqual(result);
  if (result.status !== "error") throw new Error(`expected an error result, got ${JSON.stringify(result)}`);
  expect(result.requestId).toBe("r1");
  return { code: result.code, reason: result.reason };
}

describe("answerPrefetch", () => {
  it("answers ready with the sha256 artifact reference, checksum, guard digest and prewarm percentiles", async () => {
    const result = await answer(request, deps());
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
    const d = { ...deps({ cacheBytes: 0 }), prewarm: async () => times.shift() ?? Number.NaN };
    await answer(request, d);
    await answer(request, d);
    const result = await answer(request, d);
    expect(result).toMatchObject({ status: "ready", prewarmP50Ms: 20, prewarmP95Ms: 29 });
  });

  it("rejects a blueprint the catalog does not hold with code unknown_blueprint", async () => {
    expect(errorOf(await answer(request, deps({ catalog: {} })))).toEqual({
      code: "unknown_blueprint",
      reason: `blueprint ${id} is not in the catalog`,
    });
  });

  it("rejects a catalogued blueprint whose artifact is not stored with code artifact_missing", async () => {
    const { code, reason } = errorOf(await answer(request, deps({ read: { kind: "missing" } })));
    expect(code).toBe("artifact_missing");
    expect(reason).toContain(descriptor.artifactSha256);
  });

  it("rejects bytes that do not hash to the descriptor's sha256 with code digest_mismatch", async () => {
    const tampered = bytes.slice();
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 0xff;
    const actual = createHash("sha256").update(tampered).digest("hex");
    const { code, reason } = errorOf(
      await answer(request, deps({ read: { kind: "found", bytes: tampered } })),
    );
    expect(code).toBe("digest_mismatch");
    expect(reason).toContain(actual);
    expect(reason).toContain(descriptor.artifactSha256);
  });

  it("rejects an artifact the store reports as corrupt with code digest_mismatch", async () => {
    const actual = "ab".repeat(32);
    const { code, reason } = errorOf(
      await answer(request, deps({ read: { kind: "corrupt", actualSha256: actual } })),
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
    expect(errorOf(await answer(request, d))).toEqual({
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
    await expect(answer(request, d)).rejects.toThrow(RangeError);
  });

  it("serves a second request from the cache without reading or prewarming again", async () => {
    let prewarms = 0;
    const d = deps({
      prewarm: async () => {
        prewarms++;
        return 5;
      },
    });
    const first = await answerPrefetch(request, d);
    const second = await answerPrefetch({ ...request, requestId: "r2" }, d);
    expect([first.outcome, second.outcome]).toEqual(["miss", "hit"]);
    expect(second.result).toEqual({ ...first.result, requestId: "r2" });
    expect([d.reads.length, prewarms]).toEqual([1, 1]);
    expect(d.cache.stats()).toMatchObject({ hits: 1, misses: 1, entries: 1, bytes: bytes.byteLength });
  });

  it("misses for a republished artifact: the key is blueprint id + sha256", async () => {
    const d = deps();
    await answerPrefetch(request, d);
    const republished = { ...descriptor, artifactSha256: "cd".repeat(32) };
    const catalog = { descriptor: async () => republished };
    const again = await answerPrefetch(request, { ...d, catalog });
    expect(again.outcome).toBe("miss");
    expect(again.result).toMatchObject({ status: "error", code: "artifact_missing" });
    expect(d.reads).toEqual([descriptor.artifactSha256, republished.artifactSha256]);
    expect(kernelCacheKey(id, "ab")).toBe(`${id}@ab`);
  });

  it("keeps no failure: the next request reads the store again", async () => {
    const d = deps({ read: { kind: "missing" } });
    await answerPrefetch(request, d);
    const again = await answerPrefetch(request, d);
    expect(again.outcome).toBe("miss");
    expect(d.reads).toHaveLength(2);
  });

  it("loads a kernel once for concurrent requests; the others wait and get the same kernel", async () => {
    let prewarms = 0;
    const d = deps({
      prewarm: async () => {
        prewarms++;
        await new Promise((r) => setTimeout(r, 30));
        return 5;
      },
    });
    const answers = await Promise.all(
      ["a", "b", "c"].map((requestId) => answerPrefetch({ ...request, requestId }, d)),
    );
    expect(answers.map((a) => a.outcome)).toEqual(["miss", "wait", "wait"]);
    expect(answers.map((a) => a.result.requestId)).toEqual(["a", "b", "c"]);
    expect(answers.every((a) => a.result.status === "ready")).toBe(true);
    expect([d.reads.length, prewarms]).toEqual([1, 1]);
    expect(answers[1]?.lockWaitMs).toBeGreaterThan(20);
  });
});
