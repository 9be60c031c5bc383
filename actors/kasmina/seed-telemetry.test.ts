import { describe, expect, it } from "vitest";
import { validate } from "../../contracts/codec.ts";
import { HealthStatus, SeedLifecycleStage as S } from "../../contracts/enums.ts";
import type { SeedView } from "./seed-controller.ts";
import { globalPacket, seedPacket } from "./seed-telemetry.ts";
import { seedReportOf } from "./testing/seed-messages.ts";

const blending: SeedView = {
  seedId: "s1-g0",
  slotId: "s1",
  stage: S.BLENDING,
  alpha: 0.25,
  blend: { mode: "channel", alphaMean: 0.2, alphaP95: 0.25, sparsity: 0.5 },
  kernelAttached: true,
  reports: 2,
  lastReport: seedReportOf("run-1", "s1-g0", S.BLENDING, 7),
};
const embargoed: SeedView = {
  seedId: "s2-g0",
  slotId: "s2",
  stage: S.EMBARGOED,
  alpha: 0,
  kernelAttached: false,
  reports: 0,
};

describe("seedPacket", () => {
  it("is one valid packet per seed and interval with its stage, α, blend statistics and latest report", () => {
    const p = validate("TelemetryPacket", seedPacket(blending, 3, "run-1", 1_000, 1e-6));
    expect(p.packetId).toBe("kasmina-seed-s1-g0-3");
    const value = (name: string) => p.metrics.find((m) => m.name === name)?.value;
    expect([
      value("kasmina.seed.stage"),
      value("kasmina.seed.alpha"),
      value("kasmina.blend.sparsity"),
    ]).toEqual([S.BLENDING, 0.25, 0.5]);
    expect(p.metrics.find((m) => m.name === "kasmina.blend.alpha_p95")?.attributes).toEqual({
      seed_id: "s1-g0",
      slot_id: "s1",
      stage: "BLENDING",
      trainingRunId: "run-1",
      mode: "channel",
    });
    expect(p.systemHealth).toMatchObject({ status: HealthStatus.HEALTHY });
  });

  it("is UNHEALTHY when the latest report leaks past isolationLeakMax", () => {
    const leaking = {
      ...blending,
      lastReport: { ...seedReportOf("run-1", "s1-g0", S.BLENDING, 8), isolationLeak: 1e-3 },
    };
    expect(seedPacket(leaking, 1, "run-1", 1_000, 1e-6).systemHealth?.status).toBe(HealthStatus.UNHEALTHY);
  });
});

describe("globalPacket", () => {
  it("counts seeds by stage and carries the gate failures per gate", () => {
    const counters = {
      gateFailures: { G0: 1, G1: 0, G2: 2, G3: 0, G4: 0, G5: 0 },
      culled: 3,
      lastPrefetchMs: 12,
    };
    const p = validate("TelemetryPacket", globalPacket([blending, embargoed], counters, 5, "run-1", 1_000));
    expect(p.packetId).toBe("kasmina-global-5");
    const value = (name: string, gate?: string) =>
      p.metrics.find((m) => m.name === name && (gate === undefined || m.attributes?.gate === gate))?.value;
    expect(value("kasmina.seeds.active")).toBe(1);
    expect(value("kasmina.seeds.embargoed")).toBe(1);
    expect(value("kasmina.seeds.culled")).toBe(3);
    expect(value("kasmina.gates.failures", "G2")).toBe(2);
    expect(value("kasmina.prefetch.latency_ms")).toBe(12);
  });
});
