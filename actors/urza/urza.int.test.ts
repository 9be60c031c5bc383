import { Objm } from "@nats-io/obj";
import { beforeAll, describe, expect, it } from "vitest";
import { openBucket } from "../../bus/kv.ts";
import { openArtifactStore } from "../../bus/objects.ts";
import { request, serve, subscribe } from "../../bus/typed.ts";
import type { KernelCatalogUpdate } from "../../contracts/index.ts";
import { storeName } from "../../contracts/stores.ts";
import { useTestBus } from "../../test/bus-fixture.ts";
import { CatalogView } from "../runtime/catalog-view.ts";
import { openArtifactSource } from "./artifact-source.ts";
import { publishLibrary } from "./catalog-publisher.ts";
import { KernelPrewarmError } from "./errors.ts";
import { guardDigest } from "./guard-digest.ts";
import { KernelCache } from "./kernel-cache.ts";
import { prewarmKernel } from "./kernel-prewarm.ts";
import { buildLibrary, type LibraryEntry } from "./library.ts";
import {
  type ArtifactSource,
  answerPrefetch,
  type KernelFailure,
  type PrefetchDeps,
  type VerifiedKernel,
} from "./prefetch.ts";
import { PrewarmSamples } from "./prewarm-samples.ts";

const t = useTestBus("urza-int", { ensure: true });

const configs = [
  { kind: "residual-mlp", inputWidth: 8, hiddenWidth: 8, initSeed: 1 },
  { kind: "low-rank-linear", inputWidth: 8, hiddenWidth: 2, initSeed: 1 },
  { kind: "gated-unit", inputWidth: 16, hiddenWidth: 4, initSeed: 1 },
];
const library = buildLibrary(configs, 1_700_000_000_000);
const entry = (i: number): LibraryEntry => {
  const e = library[i];
  if (e === undefined) throw new Error(`no library entry ${i}`);
  return e;
};

async function until(what: string, done: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let artifacts: ArtifactSource;
/** A fresh view (empty: each blueprint is read through on its first request) and a fresh cache. */
const prefetchDeps = async (): Promise<PrefetchDeps> => ({
  catalog: new CatalogView(await openBucket(t.bus, "catalog")),
  artifacts,
  prewarm: prewarmKernel,
  samples: new PrewarmSamples(20),
  cache: new KernelCache<VerifiedKernel | KernelFailure>(1 << 20),
});
const req = (blueprintId: string, requestId = "req-1") => ({
  requestId,
  blueprintId,
  trainingRunId: "run-1",
  issuedAt: Date.now(),
});

describe("Urza on a real nats-server", () => {
  const updates: KernelCatalogUpdate[] = [];

  beforeAll(async () => {
    subscribe(t.bus, "catalogUpdate", (u) => {
      updates.push(u);
    });
    await t.bus.nc.flush();
    artifacts = await openArtifactSource(t.bus);
  });

  it("publishes the library once: artifacts, descriptors and one KernelCatalogUpdate per blueprint", async () => {
    const report = await publishLibrary(t.bus, library, { prewarm: prewarmKernel });
    expect(report).toEqual({
      added: 3,
      changed: 0,
      unchanged: 0,
      artifactsStored: 3,
      updatesPublished: 3,
      notInLibrary: [],
    });
    const catalog = await openBucket(t.bus, "catalog");
    const kernels = await openArtifactStore(t.bus, "kernels");
    for (const e of library) {
      expect((await catalog.get(e.descriptor.blueprintId))?.value).toEqual(e.descriptor);
      expect(Buffer.from(await kernels.get(e.descriptor.artifactSha256)).equals(Buffer.from(e.bytes))).toBe(
        true,
      );
    }
    await until("3 catalog updates", () => updates.length === 3);
    expect(updates.map((u) => u.blueprintId)).toEqual(library.map((e) => e.descriptor.blueprintId));
    const first = entry(0);
    expect(updates[0]).toMatchObject({
      artifactRef: first.descriptor.artifactSha256,
      checksum: first.descriptor.artifactSha256,
      guardDigest: guardDigest(first.descriptor),
      compileMs: first.compileMs,
    });
  });

  it("changes nothing on a second run of a rebuilt library (other createdAt, same bytes)", async () => {
    const catalog = await openBucket(t.bus, "catalog");
    const revisions = async () =>
      Promise.all(library.map(async (e) => (await catalog.get(e.descriptor.blueprintId))?.revision));
    const before = await revisions();
    const rebuilt = buildLibrary(configs, 1_800_000_000_000);
    expect(rebuilt.map((e) => e.descriptor.blueprintId)).toEqual(
      library.map((e) => e.descriptor.blueprintId),
    );
    const report = await publishLibrary(t.bus, rebuilt, {
      prewarm: async () => {
        throw new Error("an unchanged kernel must not be prewarmed again");
      },
    });
    expect(report).toEqual({
      added: 0,
      changed: 0,
      unchanged: 3,
      artifactsStored: 0,
      updatesPublished: 0,
      notInLibrary: [],
    });
    expect(await revisions()).toEqual(before);
    await t.bus.nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    expect(updates).toHaveLength(3);
  });

  it("replaces a descriptor that changed and reports catalog keys outside the library", async () => {
    const changed = { ...entry(1), descriptor: { ...entry(1).descriptor, risk: 0.5 } };
    const report = await publishLibrary(t.bus, [entry(0), changed], { prewarm: prewarmKernel });
    expect(report).toMatchObject({
      added: 0,
      changed: 1,
      unchanged: 1,
      artifactsStored: 0,
      updatesPublished: 1,
    });
    expect(report.notInLibrary).toEqual([entry(2).descriptor.blueprintId]);
    const catalog = await openBucket(t.bus, "catalog");
    expect((await catalog.get(changed.descriptor.blueprintId))?.value.risk).toBe(0.5);
    await publishLibrary(t.bus, library, { prewarm: prewarmKernel });
  });

  it("writes nothing for a kernel that fails to prewarm", async () => {
    const [bad] = buildLibrary([{ kind: "residual-mlp", inputWidth: 4, hiddenWidth: 4, initSeed: 9 }], 1);
    if (bad === undefined) throw new Error("no entry built");
    const refuse = async (): Promise<number> => {
      throw new KernelPrewarmError("kernel does not load");
    };
    await expect(publishLibrary(t.bus, [bad], { prewarm: refuse })).rejects.toThrow("kernel does not load");
    const catalog = await openBucket(t.bus, "catalog");
    const kernels = await openArtifactStore(t.bus, "kernels");
    expect(await catalog.get(bad.descriptor.blueprintId)).toBeUndefined();
    expect(await kernels.has(bad.descriptor.artifactSha256)).toBe(false);
  });

  it("answers a prefetch request over the bus (queue group) with the artifact reference", async () => {
    const deps = await prefetchDeps();
    const sub = serve(t.bus, "urzaPrefetch", async (r) => (await answerPrefetch(r, deps)).result, {
      queue: "urza",
    });
    try {
      const e = entry(0);
      const reply = await request(t.bus, "urzaPrefetch", req(e.descriptor.blueprintId), {
        timeoutMs: 10_000,
      });
      expect(reply).toMatchObject({
        status: "ready",
        requestId: "req-1",
        blueprintId: e.descriptor.blueprintId,
        artifactRef: e.descriptor.artifactSha256,
        checksum: e.descriptor.artifactSha256,
        guardDigest: guardDigest(e.descriptor),
      });
      const unknown = await request(t.bus, "urzaPrefetch", req("no-such-blueprint"), { timeoutMs: 10_000 });
      expect(unknown).toMatchObject({
        status: "error",
        blueprintId: "no-such-blueprint",
        code: "unknown_blueprint",
      });
    } finally {
      await sub.stop();
    }
  });

  it("answers digest_mismatch for a tampered artifact and artifact_missing for a deleted one", async () => {
    const objects = await new Objm(t.bus.nc).open(storeName(t.ns, "kernels"));
    const tampered = entry(1);
    await objects.putBlob({ name: tampered.descriptor.artifactSha256 }, new Uint8Array([1, 2, 3, 4]));
    const { result: mismatch } = await answerPrefetch(
      req(tampered.descriptor.blueprintId),
      await prefetchDeps(),
    );
    expect(mismatch).toMatchObject({ status: "error", requestId: "req-1", code: "digest_mismatch" });
    expect(mismatch.status === "error" && mismatch.reason).toContain(tampered.descriptor.artifactSha256);

    const deleted = entry(2);
    await objects.delete(deleted.descriptor.artifactSha256);
    const { result: missing } = await answerPrefetch(
      req(deleted.descriptor.blueprintId),
      await prefetchDeps(),
    );
    expect(missing).toMatchObject({ status: "error", code: "artifact_missing" });
  });

  it("restores a deleted artifact on the next publish without touching its descriptor", async () => {
    const deleted = entry(2);
    const report = await publishLibrary(t.bus, [deleted], { prewarm: prewarmKernel });
    expect(report).toMatchObject({
      added: 0,
      changed: 0,
      unchanged: 0,
      artifactsStored: 1,
      updatesPublished: 1,
    });
    const { result: ready } = await answerPrefetch(req(deleted.descriptor.blueprintId), await prefetchDeps());
    expect(ready).toMatchObject({ status: "ready", artifactRef: deleted.descriptor.artifactSha256 });
  });
});
