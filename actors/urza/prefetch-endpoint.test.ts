import { describe, expect, it } from "vitest";
import type { TelemetryPacket } from "../../contracts/messages/telemetry.ts";
import { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import { buildBlueprint } from "../../nn/blueprints/artifact.ts";
import { TelemetryEmitter } from "../runtime/telemetry.ts";
import { KernelCache } from "./kernel-cache.ts";
import type { KernelFailure, PrefetchDeps, VerifiedKernel } from "./prefetch.ts";
import { answerPrefetchWithTelemetry } from "./prefetch-endpoint.ts";
import { PrewarmSamples } from "./prewarm-samples.ts";

const { bytes, descriptor } = buildBlueprint(
  { kind: "low-rank-linear", inputWidth: 4, hiddenWidth: 2, initSeed: 3 },
  1_700_000_000_000,
);

function setup(prewarmMs: number) {
  const packets: TelemetryPacket[] = [];
  const telemetry = new TelemetryEmitter({ actor: "urza", publish: async (p) => void packets.push(p) });
  const settings = WorkerSettings.parse({ urza: { lockWaitWarnMs: 20 } });
  const ctx = { telemetry, reportError: () => undefined, settings: () => settings };
  const deps: PrefetchDeps = {
    catalog: { descriptor: async () => descriptor },
    artifacts: { read: async () => ({ kind: "found", bytes }) },
    prewarm: async () => {
      await new Promise((r) => setTimeout(r, prewarmMs));
      return prewarmMs;
    },
    samples: new PrewarmSamples(20),
    cache: new KernelCache<VerifiedKernel | KernelFailure>(1 << 20),
  };
  const ask = (requestId: string) =>
    answerPrefetchWithTelemetry(
      { requestId, blueprintId: descriptor.blueprintId, trainingRunId: "run-1", issuedAt: 1 },
      deps,
      ctx,
    );
  return { packets, telemetry, ask };
}

describe("answerPrefetchWithTelemetry", () => {
  it("reports the lock wait of a request that waited for another's load, a WARNING over lockWaitWarnMs, and the hit ratio", async () => {
    const { packets, telemetry, ask } = setup(60);
    await Promise.all([ask("a"), ask("b")]);
    await ask("c");
    await telemetry.flush();
    const metrics = packets.flatMap((p) => p.metrics);
    const waits = metrics.filter((m) => m.name === "urza.cache.lock_wait_ms");
    expect(waits).toHaveLength(1);
    expect(waits[0]?.value).toBeGreaterThan(20);
    expect(
      metrics.filter((m) => m.name === "urza.prefetch.latency_ms").map((m) => m.attributes?.cache),
    ).toEqual(["miss", "wait", "hit"]);
    expect(metrics.filter((m) => m.name === "urza.cache.hit_ratio").at(-1)?.value).toBeCloseTo(1 / 3, 6);
    const warnings = packets.flatMap((p) => p.events).filter((e) => e.eventId === "urza.cache.lock_wait");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.attributes).toMatchObject({ request_id: "b", blueprint_id: descriptor.blueprintId });
  });

  it("does not warn for a wait under lockWaitWarnMs", async () => {
    const { packets, telemetry, ask } = setup(1);
    await Promise.all([ask("a"), ask("b")]);
    await telemetry.flush();
    expect(
      packets.flatMap((p) => p.metrics).filter((m) => m.name === "urza.cache.lock_wait_ms"),
    ).toHaveLength(1);
    expect(packets.flatMap((p) => p.events).filter((e) => e.eventId === "urza.cache.lock_wait")).toEqual([]);
  });

  it("records the cache's size gauges when an answer loaded, the hit ratio on every answer", async () => {
    const { packets, telemetry, ask } = setup(1);
    await ask("a");
    await ask("b");
    await ask("c");
    await telemetry.flush();
    const metrics = packets.flatMap((p) => p.metrics);
    const values = (name: string) => metrics.filter((m) => m.name === name).map((m) => m.value);
    expect(values("urza.cache.hit_ratio")).toEqual([0, 0.5, 2 / 3]);
    expect(values("urza.cache.bytes")).toEqual([bytes.byteLength]);
    expect(values("urza.cache.entries")).toEqual([1]);
    expect(values("urza.cache.evictions")).toEqual([0]);
  });
});
