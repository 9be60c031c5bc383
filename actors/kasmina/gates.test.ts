import { describe, expect, it } from "vitest";
import { SeedLifecycleStage as S } from "../../contracts/enums.ts";
import type { BlueprintDescriptor } from "../../contracts/messages/kernel.ts";
import type { SeedReport } from "../../contracts/messages/seed.ts";
import { MixedSeedWindowError } from "./errors.ts";
import {
  advanceTarget,
  type GateSettings,
  isJudgedStage,
  type JudgedStage,
  judgeReports,
  type KernelEvidence,
  resetGate,
  type SeedWindow,
  sanityGate,
} from "./gates.ts";
import { seedTransitions } from "./lifecycle.ts";
import { descriptorOf } from "./testing/kernel-descriptor.ts";

const settings: GateSettings = {
  trainingReports: 3,
  shadowingReports: 3,
  probationReports: 4,
  harmMargin: 0.05,
  harmReports: 2,
  isolationLeakMax: 1e-6,
  seedGradientNormMax: 100,
  blend: { totalSteps: 20, temperature: 2 },
};

let counter = 0;
/** A report of seed s1 with `loss` against the host's `hostLoss` (1.0 unless `extra` says otherwise). */
function report(stage: SeedReport["stage"], loss: number, extra: Partial<SeedReport> = {}): SeedReport {
  counter++;
  const hostLoss = extra.hostLoss ?? 1.0;
  return {
    reportId: `r${counter}`,
    trainingRunId: "run-1",
    seedId: "s1",
    stage,
    epoch: 1,
    globalStep: counter * 10,
    steps: 10,
    alpha: 0,
    loss,
    hostLoss,
    lossDelta: loss - hostLoss,
    seedGradientNorm: 1,
    hostGradientNorm: 1,
    gradientCosine: 0,
    isolationLeak: 0,
    interfaceGradientNorm: 1,
    gradientShare: 0.5,
    conflicts: 0,
    conflictRatio: 0,
    parameterCount: 100,
    nonFiniteGradients: false,
    issuedAt: 1_000 + counter,
    ...extra,
  };
}

/** Judges seed s1 in `stage` from reports with these losses, each against `hostLoss`. */
function judge(stage: JudgedStage, losses: readonly number[], hostLoss = 1.0) {
  const window: SeedWindow = {
    seedId: "s1",
    stage,
    reports: losses.map((l) => report(stage, l, { hostLoss })),
    alphaRange: [0, 1],
  };
  return judgeReports(window, settings);
}

describe("advanceTarget", () => {
  it("moves each judged stage along a legal transition", () => {
    for (const [from, to] of Object.entries(advanceTarget)) {
      expect(seedTransitions[Number(from) as JudgedStage]).toContain(to);
    }
    expect(isJudgedStage(S.BLENDING)).toBe(true);
    expect(isJudgedStage(S.GERMINATED)).toBe(false);
  });
});

describe("TRAINING → BLENDING (G2 trainingLossSettled)", () => {
  it("holds with fewer than N reports", () => {
    expect(judge(S.TRAINING, [0.9, 0.8])).toEqual({
      decision: "hold",
      gate: "G2",
      reason: "2 of 3 reports",
    });
  });

  it("advances after N reports whose loss never increases (equal counts as non-increasing)", () => {
    expect(judge(S.TRAINING, [0.9, 0.8, 0.8])).toMatchObject({
      decision: "advance",
      gate: "G2",
    });
  });

  it("holds when the loss rose within the last N reports, and ignores a rise before them", () => {
    expect(judge(S.TRAINING, [0.9, 0.95, 0.8])).toMatchObject({
      decision: "hold",
      reason: expect.stringMatching(/rose from 0.9 to 0.95/),
    });
    expect(judge(S.TRAINING, [0.5, 0.9, 0.8, 0.7])).toMatchObject({ decision: "advance" });
  });

  it("does not count reports of an earlier stage", () => {
    const reports = [report(S.GERMINATED, 0.9), report(S.TRAINING, 0.8), report(S.TRAINING, 0.7)];
    const verdict = judgeReports({ seedId: "s1", stage: S.TRAINING, reports, alphaRange: [0, 1] }, settings);
    expect(verdict).toMatchObject({ decision: "hold", reason: "2 of 3 reports" });
  });

  it("does not apply loss harm while alpha is 0 (TRAINING is judged by G2)", () => {
    expect(judge(S.TRAINING, [5, 4, 3])).toMatchObject({ decision: "advance" });
  });
});

describe("BLENDING → SHADOWING (G3 blendScheduleCompleted)", () => {
  it("holds until the reported blending steps reach the schedule's total, then advances", () => {
    expect(judge(S.BLENDING, [1.0])).toEqual({
      decision: "hold",
      gate: "G3",
      reason: "10 of 20 blending steps done",
    });
    expect(judge(S.BLENDING, [1.0, 1.0])).toMatchObject({
      decision: "advance",
      gate: "G3",
    });
  });
});

describe("SHADOWING → PROBATIONARY (G4 shadowingHarmless) and PROBATIONARY → FOSSILIZED (G4 probationPassed)", () => {
  it("advances after N consecutive reports within the margin of their hostLoss", () => {
    expect(judge(S.SHADOWING, [1.0, 1.05, 0.9])).toMatchObject({
      decision: "advance",
      gate: "G4",
    });
    expect(judge(S.SHADOWING, [1.0, 0.9])).toMatchObject({
      decision: "hold",
      gate: "G4",
    });
  });

  it("restarts the count after a harmful report", () => {
    expect(judge(S.SHADOWING, [1.0, 1.0, 1.2, 1.0, 1.0])).toMatchObject({
      decision: "hold",
      reason: "2 of 3 consecutive reports with loss <= hostLoss + 0.05",
    });
  });

  it("judges each report against its own hostLoss", () => {
    const reports = [
      report(S.SHADOWING, 0.9, { hostLoss: 0.8 }),
      report(S.SHADOWING, 1.5, { hostLoss: 1.48 }),
      report(S.SHADOWING, 2.0, { hostLoss: 2.0 }),
      report(S.SHADOWING, 0.5, { hostLoss: 0.5 }),
    ];
    expect(
      judgeReports(
        { seedId: "s1", stage: S.SHADOWING, reports: reports.slice(0, 3), alphaRange: [0, 1] },
        settings,
      ),
    ).toEqual({
      decision: "hold",
      gate: "G4",
      reason: "2 of 3 consecutive reports with loss <= hostLoss + 0.05",
    });
    expect(
      judgeReports(
        { seedId: "s1", stage: S.SHADOWING, reports: reports.slice(1), alphaRange: [0, 1] },
        settings,
      ),
    ).toMatchObject({
      decision: "advance",
    });
  });

  it("uses its own count for probation", () => {
    expect(judge(S.PROBATIONARY, [1.0, 1.0, 1.0])).toMatchObject({
      decision: "hold",
      gate: "G4",
    });
    expect(judge(S.PROBATIONARY, [1.0, 1.0, 1.0, 1.0])).toMatchObject({
      decision: "advance",
      gate: "G4",
    });
  });
});

describe("cull rules", () => {
  it("culls a seed whose last harmReports losses each exceed their report's hostLoss by more than the margin (lossHarm)", () => {
    const harmful = [
      report(S.SHADOWING, 1.06, { hostLoss: 1.0 }),
      report(S.SHADOWING, 1.2, { hostLoss: 1.1 }),
    ];
    expect(
      judgeReports({ seedId: "s1", stage: S.SHADOWING, reports: harmful, alphaRange: [0, 1] }, settings),
    ).toEqual({
      decision: "cull",
      gate: "G4",
      reason:
        `2 consecutive reports exceed hostLoss by more than the margin 0.05 ` +
        `(report ${harmful[0]?.reportId}: loss 1.06 vs hostLoss 1; report ${harmful[1]?.reportId}: loss 1.2 vs hostLoss 1.1)`,
    });
    expect(judge(S.BLENDING, [1.0, 1.2, 1.3])).toMatchObject({ decision: "cull", gate: "G3" });
    expect(judge(S.BLENDING, [0.5, 0.5], 0.4)).toMatchObject({ decision: "cull", gate: "G3" });
    expect(judge(S.PROBATIONARY, [1.05, 1.05])).not.toMatchObject({ decision: "cull" });
    expect(judge(S.BLENDING, [3.0, 3.0], 2.96)).not.toMatchObject({ decision: "cull" });
  });

  it("does not cull on one harmful report: a single batch above the margin is noise (lossHarm)", () => {
    expect(judge(S.SHADOWING, [1.2])).not.toMatchObject({ decision: "cull" });
    expect(judge(S.BLENDING, [1.2, 1.0])).not.toMatchObject({ decision: "cull" });
    expect(judge(S.SHADOWING, [1.2, 1.0, 1.2])).not.toMatchObject({ decision: "cull" });
  });

  it("culls a seed with non-finite gradients or a non-finite value, in any stage, before advancing", () => {
    const reports = [
      report(S.TRAINING, 0.9),
      report(S.TRAINING, 0.8, { nonFiniteGradients: true }),
      report(S.TRAINING, 0.7),
    ];
    expect(judgeReports({ seedId: "s1", stage: S.TRAINING, reports, alphaRange: [0, 1] }, settings)).toEqual({
      decision: "cull",
      gate: "G1",
      reason: `report ${reports[1]?.reportId} has non-finite gradients`,
    });
    const nan = [report(S.SHADOWING, Number.NaN)];
    expect(
      judgeReports({ seedId: "s1", stage: S.SHADOWING, reports: nan, alphaRange: [0, 1] }, settings),
    ).toMatchObject({
      decision: "cull",
      gate: "G1",
      reason: expect.stringMatching(/has loss NaN$/),
    });
  });
});

describe("judgeReports input checks", () => {
  it("rejects a window with a report of another seed", () => {
    const reports = [report(S.TRAINING, 0.9), report(S.TRAINING, 0.8, { seedId: "s2" })];
    expect(() =>
      judgeReports({ seedId: "s1", stage: S.TRAINING, reports, alphaRange: [0, 1] }, settings),
    ).toThrow(MixedSeedWindowError);
  });

  it("rejects bad thresholds, naming the field", () => {
    const window: SeedWindow = { seedId: "s1", stage: S.TRAINING, reports: [], alphaRange: [0, 1] };
    expect(() => judgeReports(window, { ...settings, trainingReports: 0 })).toThrow(/trainingReports/);
    expect(() => judgeReports(window, { ...settings, harmMargin: -0.1 })).toThrow(/harmMargin/);
    expect(() => judgeReports(window, { ...settings, harmReports: 0 })).toThrow(/harmReports/);
  });
});

describe("G0 sanity", () => {
  const SHA = "e".repeat(64);
  const ready = {
    status: "ready" as const,
    requestId: "q1",
    blueprintId: "bp",
    artifactRef: SHA,
    checksum: SHA,
    guardDigest: SHA,
    prewarmP50Ms: 1.5,
    prewarmP95Ms: 2.5,
  };
  const evidence = (
    over: Partial<KernelEvidence> = {},
    d: Partial<BlueprintDescriptor> = {},
  ): KernelEvidence => ({
    blueprintId: "bp",
    answer: ready,
    descriptor: { ...descriptorOf("bp", 4, SHA), ...d },
    slotWidth: 4,
    ...over,
  });

  it("passes a verified, prewarmed kernel of the slot's width", () => {
    expect(sanityGate(evidence())).toEqual({
      gate: "G0",
      passed: true,
      reason: `kernel ${SHA} verified, probe run in 1.5 ms p50 / 2.5 ms p95, width 4 → 4`,
    });
  });

  it.each([
    [
      "a timeout",
      evidence({ answer: { status: "timeout", requestId: "q1" } }),
      "kernel prefetch timed out (request q1)",
    ],
    [
      "a prefetch error",
      evidence({
        answer: {
          status: "error",
          requestId: "q1",
          blueprintId: "bp",
          code: "digest_mismatch",
          reason: "bad bytes",
        },
      }),
      "kernel prefetch failed: digest_mismatch: bad bytes",
    ],
    [
      "another blueprint",
      evidence({ answer: { ...ready, blueprintId: "bp2" } }),
      "kernel for blueprint bp2 arrived, bp was requested",
    ],
    ["no descriptor", evidence({ descriptor: undefined }), "blueprint bp is not in the catalog"],
    [
      "a checksum the catalog does not hold",
      evidence({}, { artifactSha256: "f".repeat(64) }),
      `kernel ${SHA} has checksum ${SHA}, the catalog says ${"f".repeat(64)}`,
    ],
    ["another input width", evidence({}, { inputWidth: 8 }), "kernel maps width 8 → 4, the slot has width 4"],
    [
      "another output width",
      evidence({}, { outputWidth: 2 }),
      "kernel maps width 4 → 2, the slot has width 4",
    ],
    [
      "a probe without finite timings",
      evidence({ answer: { ...ready, prewarmP95Ms: Number.POSITIVE_INFINITY } }),
      "kernel probe timings are not finite (p50 1.5, p95 Infinity)",
    ],
  ])("fails on %s", (_what, e, reason) => {
    expect(sanityGate(e)).toEqual({ gate: "G0", passed: false, reason });
  });
});

describe("G1 gradient health", () => {
  it("passes finite gradients without leak, culls a leak past isolationLeakMax in any stage", () => {
    const ok = [report(S.BLENDING, 1.0, { isolationLeak: 1e-6 })];
    expect(
      judgeReports({ seedId: "s1", stage: S.BLENDING, reports: ok, alphaRange: [0, 1] }, settings),
    ).toMatchObject({
      decision: "hold",
      gate: "G3",
    });
    const leak = [report(S.TRAINING, 0.9, { isolationLeak: 2e-6 })];
    expect(
      judgeReports({ seedId: "s1", stage: S.TRAINING, reports: leak, alphaRange: [0, 1] }, settings),
    ).toEqual({
      decision: "cull",
      gate: "G1",
      reason: `report ${leak[0]?.reportId}: isolation leak 0.000002 exceeds 0.000001`,
    });
  });
});

describe("G2 stability", () => {
  it("culls a TRAINING seed whose gradient norm exceeds seedGradientNormMax", () => {
    const reports = [report(S.TRAINING, 0.9), report(S.TRAINING, 0.8, { seedGradientNorm: 101 })];
    expect(judgeReports({ seedId: "s1", stage: S.TRAINING, reports, alphaRange: [0, 1] }, settings)).toEqual({
      decision: "cull",
      gate: "G2",
      reason: `report ${reports[1]?.reportId}: seed gradient norm 101 exceeds 100`,
    });
    const calm = [0.9, 0.8, 0.7].map((l) => report(S.TRAINING, l, { seedGradientNorm: 100 }));
    expect(
      judgeReports({ seedId: "s1", stage: S.TRAINING, reports: calm, alphaRange: [0, 1] }, settings),
    ).toMatchObject({
      decision: "advance",
      gate: "G2",
    });
  });
});

describe("G3 interface", () => {
  it("culls a BLENDING report whose alpha lies outside the plan's range, passes one inside", () => {
    const outside = [report(S.BLENDING, 1.0, { alpha: 0.9 })];
    expect(
      judgeReports({ seedId: "s1", stage: S.BLENDING, reports: outside, alphaRange: [0, 0.5] }, settings),
    ).toEqual({
      decision: "cull",
      gate: "G3",
      reason: `report ${outside[0]?.reportId}: alpha 0.9 outside the plan's [0, 0.5]`,
    });
    const inside = [report(S.BLENDING, 1.0, { alpha: 0.5 }), report(S.BLENDING, 1.0, { alpha: 0.5 })];
    expect(
      judgeReports({ seedId: "s1", stage: S.BLENDING, reports: inside, alphaRange: [0, 0.5] }, settings),
    ).toMatchObject({ decision: "advance", gate: "G3" });
  });
});

describe("G4 system impact", () => {
  it("advances after harmless reports and culls persistent harm", () => {
    expect(judge(S.SHADOWING, [1.0, 1.0, 1.0])).toMatchObject({ decision: "advance", gate: "G4" });
    expect(judge(S.PROBATIONARY, [1.1, 1.1])).toMatchObject({ decision: "cull", gate: "G4" });
  });
});

describe("G5 reset", () => {
  const clean = { kernelAttached: false, prefetchPending: false, embargoUntilMs: 100, nowMs: 100 };
  it("passes a clean seed whose embargo has ended", () => {
    expect(resetGate(clean)).toMatchObject({ gate: "G5", passed: true });
  });
  it.each([
    [{ kernelAttached: true }, "a kernel is still attached"],
    [{ prefetchPending: true }, "a kernel request is still open"],
    [{ nowMs: 99 }, "the embargo lasts until 100, now is 99"],
  ])("fails %o", (over, reason) => {
    expect(resetGate({ ...clean, ...over })).toEqual({ gate: "G5", passed: false, reason });
  });
});
