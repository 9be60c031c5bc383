import { Kvm } from "@nats-io/kv";
import { describe, expect, it } from "vitest";
import { ensureBucket } from "../../bus/jetstream/ensure.ts";
import { openArtifactStore, sha256Hex } from "../../bus/objects.ts";
import { request } from "../../bus/typed.ts";
import { TelemetryLevel } from "../../contracts/enums.ts";
import type { KernelPrefetchResult } from "../../contracts/index.ts";
import { storeName } from "../../contracts/stores.ts";
import { type ActorStage, actorStage } from "../../test/actor-stage.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { until } from "../../test/until.ts";
import { startActor } from "../runtime/actor.ts";
import { ActorExitCode } from "../runtime/exit-codes.ts";
import { publishLibrary } from "./catalog-publisher.ts";
import { prewarmKernel } from "./kernel-prewarm.ts";
import { buildLibrary, libraryConfigs } from "./library.ts";
import { actor } from "./main.ts";

const fixture = useNatsServer();

const library = buildLibrary(libraryConfigs(), 0);
const known = library[0]?.descriptor;
if (known === undefined) throw new Error("the library is empty");

type Stage = ActorStage;

const stage = (resources: "all" | "settings only"): Promise<Stage> =>
  actorStage(fixture, "urza", { resources });

const prefetch = (s: Stage, blueprintId: string, requestId: string): Promise<KernelPrefetchResult> =>
  request(
    s.bus,
    "urzaPrefetch",
    { requestId, blueprintId, trainingRunId: "run-1", issuedAt: Date.now() },
    { timeoutMs: 10_000 },
  );

describe("the urza actor in this process (real nats-server)", () => {
  it("publishes the library, answers prefetch requests over the bus and drains with exit 0", async () => {
    const s = await stage("all");
    const h = startActor(actor, { env: s.env, handleSignals: false });
    try {
      await until(() => h.lifecycle.state === "running", "urza running");

      const ready = await prefetch(s, known.blueprintId, "req-known");
      expect(ready).toMatchObject({
        status: "ready",
        requestId: "req-known",
        blueprintId: known.blueprintId,
        artifactRef: known.artifactSha256,
        checksum: known.artifactSha256,
      });
      const kernels = await openArtifactStore(s.bus, "kernels");
      const stored = await kernels.get(ready.status === "ready" ? ready.artifactRef : "no artifactRef");
      expect(ready.status === "ready" && ready.checksum).toBe(sha256Hex(stored));
      expect(Buffer.from(stored).equals(Buffer.from(library[0]?.bytes ?? []))).toBe(true);

      const again = await prefetch(s, known.blueprintId, "req-again");
      expect(again).toEqual({ ...ready, requestId: "req-again" });

      const unknown = await prefetch(s, "no-such-blueprint", "req-unknown");
      expect(unknown).toMatchObject({
        status: "error",
        requestId: "req-unknown",
        blueprintId: "no-such-blueprint",
        code: "unknown_blueprint",
      });

      h.drain("test done");
      expect(await h.done).toBe(ActorExitCode.ok);
      expect(h.lifecycle.state).toBe("stopped");

      // The last telemetry is flushed at the drain; it reaches this test's subscription a moment later.
      await until(() => s.events("urza.prefetch.artifact_error").length > 0, "the drain's telemetry");
      expect(s.events("urza.library.published")[0]?.attributes).toMatchObject({
        added: String(library.length),
        unchanged: "0",
        artifacts_stored: String(library.length),
      });
      expect(s.events("urza.prefetch.artifact_error")).toEqual([
        expect.objectContaining({
          attributes: {
            code: "unknown_blueprint",
            blueprint_id: "no-such-blueprint",
            request_id: "req-unknown",
          },
        }),
      ]);
      const latencies = s.packets.flatMap((p) =>
        p.metrics.filter((m) => m.name === "urza.prefetch.latency_ms"),
      );
      expect(latencies.map((m) => m.attributes)).toEqual([
        { status: "ready", cache: "miss" },
        { status: "ready", cache: "hit" },
        { status: "error", cache: "uncached", code: "unknown_blueprint" },
      ]);
      const last = (name: string) =>
        s.packets.flatMap((p) => p.metrics.filter((m) => m.name === name)).at(-1)?.value;
      expect(last("urza.cache.hit_ratio")).toBe(0.5);
      expect(last("urza.cache.entries")).toBe(1);
      expect(last("urza.cache.bytes")).toBe(library[0]?.bytes.byteLength);
    } finally {
      h.drain("test cleanup");
      await h.done;
      await s.close();
    }
  });

  it("a second start finds the library unchanged", async () => {
    const s = await stage("all");
    try {
      for (const round of [1, 2]) {
        const h = startActor(actor, { env: s.env, handleSignals: false });
        await until(() => h.lifecycle.state === "running", `urza running (round ${round})`);
        h.drain("round done");
        expect(await h.done).toBe(ActorExitCode.ok);
      }
      expect(s.events("urza.library.published").map((e) => e.attributes)).toEqual([
        expect.objectContaining({ added: String(library.length), unchanged: "0" }),
        expect.objectContaining({ added: "0", unchanged: String(library.length), updates_published: "0" }),
      ]);
    } finally {
      await s.close();
    }
  });

  it("without the catalog bucket and kernel store, preflight fails naming `esper resources ensure`", async () => {
    const s = await stage("settings only");
    try {
      const h = startActor(actor, { env: s.env, handleSignals: false });
      expect(await h.done).toBe(ActorExitCode.preflightFailed);
      expect(h.lifecycle.failureReason).toContain(
        `KV bucket ${storeName(s.ns, "catalog")} does not exist: start Weatherlight or run \`esper resources ensure\``,
      );
    } finally {
      await s.close();
    }
  });

  it("without the kernel store, preflight fails naming it and `esper resources ensure`", async () => {
    const s = await stage("settings only");
    try {
      await ensureBucket(s.bus, "catalog");
      const h = startActor(actor, { env: s.env, handleSignals: false });
      expect(await h.done).toBe(ActorExitCode.preflightFailed);
      expect(h.lifecycle.failureReason).toContain(
        `object store ${storeName(s.ns, "kernels")} does not exist: start Weatherlight or run \`esper resources ensure\``,
      );
    } finally {
      await s.close();
    }
  });

  it("a library publish that fails fails the start (exit 1) with CRITICAL telemetry", async () => {
    const s = await stage("all");
    try {
      const kv = await new Kvm(s.bus.nc).open(storeName(s.ns, "catalog"));
      await kv.put(known.blueprintId, new Uint8Array([0xc1]));
      const h = startActor(actor, { env: s.env, handleSignals: false });
      expect(await h.done).toBe(ActorExitCode.crashed);
      const failed = s.events("urza.lifecycle.failed");
      expect(failed).toHaveLength(1);
      expect(failed[0]?.description).toContain("urza library publish failed");
      expect(failed[0]?.level).toBe(TelemetryLevel.CRITICAL);
    } finally {
      await s.close();
    }
  });

  it("answers from the catalog as republished after its start, not as it loaded it", async () => {
    const s = await stage("all");
    const h = startActor(actor, { env: s.env, handleSignals: false });
    try {
      await until(() => h.lifecycle.state === "running", "urza running");
      const first = await prefetch(s, known.blueprintId, "req-before");
      expect(first).toMatchObject({ status: "ready", artifactRef: known.artifactSha256 });
      // The same blueprint id, republished with another kernel: only catalog.update tells Urza.
      const [other] = buildLibrary(
        [{ kind: "residual-mlp", inputWidth: 8, hiddenWidth: 8, initSeed: 77 }],
        1,
      );
      if (other === undefined) throw new Error("no entry built");
      expect(other.descriptor.artifactSha256).not.toBe(known.artifactSha256);
      const republished = {
        ...other,
        descriptor: { ...other.descriptor, blueprintId: known.blueprintId, name: known.name },
      };
      await publishLibrary(s.bus, [republished], { prewarm: prewarmKernel });
      let latest: KernelPrefetchResult | undefined;
      await until(async () => {
        latest = await prefetch(s, known.blueprintId, "req-after");
        return latest.status === "ready" && latest.artifactRef === other.descriptor.artifactSha256;
      }, "the republished kernel");
      expect(latest).toMatchObject({ status: "ready", checksum: other.descriptor.artifactSha256 });
    } finally {
      h.drain("test done");
      await h.done;
      await s.close();
    }
  });

  it("a catalog view that does not load fails the start (exit 1) naming the blueprint", async () => {
    const s = await stage("all");
    try {
      const kv = await new Kvm(s.bus.nc).open(storeName(s.ns, "catalog"));
      await kv.put("not-in-the-library", new Uint8Array([0xc1]));
      const h = startActor(actor, { env: s.env, handleSignals: false });
      expect(await h.done).toBe(ActorExitCode.crashed);
      const failed = s.events("urza.lifecycle.failed");
      expect(failed).toHaveLength(1);
      expect(failed[0]?.description).toContain("urza catalog view did not load");
      expect(failed[0]?.description).toContain("not-in-the-library");
    } finally {
      await s.close();
    }
  });
});
