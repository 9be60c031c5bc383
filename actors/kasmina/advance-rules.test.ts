import { describe, expect, it } from "vitest";
import { SeedLifecycleStage as S } from "../../contracts/enums.ts";
import type { SeedReport } from "../../contracts/messages/seed.ts";
import {
  type AdvanceRuleSettings,
  advanceTarget,
  decideAdvance,
  isJudgedStage,
  type JudgedStage,
  type SeedWindow,
} from "./advance-rules.ts";
import { MixedSeedWindowError } from "./errors.ts";
import { seedTransitions } from "./lifecycle.ts";

const settings: AdvanceRuleSettings = {
  trainingReports: 3,
  shadowingReports: 3,
  probationReports: 4,
  harmMargin: 0.05,
  harmReports: 2,
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
  };
  return decideAdvance(window, settings);
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

describe("TRAINING → BLENDING (trainingLossSettled)", () => {
  it("holds with fewer than N reports", () => {
    expect(judge(S.TRAINING, [0.9, 0.8])).toEqual({
      decision: "hold",
      rule: "trainingLossSettled",
      reason: "2 of 3 reports",
    });
  });

  it("advances after N reports whose loss never increases (equal counts as non-increasing)", () => {
    expect(judge(S.TRAINING, [0.9, 0.8, 0.8])).toMatchObject({
      decision: "advance",
      rule: "trainingLossSettled",
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
    const verdict = decideAdvance({ seedId: "s1", stage: S.TRAINING, reports }, settings);
    expect(verdict).toMatchObject({ decision: "hold", reason: "2 of 3 reports" });
  });

  it("does not apply the loss-harm rule while alpha is 0", () => {
    expect(judge(S.TRAINING, [5, 4, 3])).toMatchObject({ decision: "advance" });
  });
});

describe("BLENDING → SHADOWING (blendScheduleCompleted)", () => {
  it("holds until the reported blending steps reach the schedule's total, then advances", () => {
    expect(judge(S.BLENDING, [1.0])).toEqual({
      decision: "hold",
      rule: "blendScheduleCompleted",
      reason: "10 of 20 blending steps done",
    });
    expect(judge(S.BLENDING, [1.0, 1.0])).toMatchObject({
      decision: "advance",
      rule: "blendScheduleCompleted",
    });
  });
});

describe("SHADOWING → PROBATIONARY (shadowingHarmless) and PROBATIONARY → FOSSILIZED (probationPassed)", () => {
  it("advances after N consecutive reports within the margin of their hostLoss", () => {
    expect(judge(S.SHADOWING, [1.0, 1.05, 0.9])).toMatchObject({
      decision: "advance",
      rule: "shadowingHarmless",
    });
    expect(judge(S.SHADOWING, [1.0, 0.9])).toMatchObject({
      decision: "hold",
      rule: "shadowingHarmless",
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
      decideAdvance({ seedId: "s1", stage: S.SHADOWING, reports: reports.slice(0, 3) }, settings),
    ).toEqual({
      decision: "hold",
      rule: "shadowingHarmless",
      reason: "2 of 3 consecutive reports with loss <= hostLoss + 0.05",
    });
    expect(
      decideAdvance({ seedId: "s1", stage: S.SHADOWING, reports: reports.slice(1) }, settings),
    ).toMatchObject({
      decision: "advance",
    });
  });

  it("uses its own count for probation", () => {
    expect(judge(S.PROBATIONARY, [1.0, 1.0, 1.0])).toMatchObject({
      decision: "hold",
      rule: "probationPassed",
    });
    expect(judge(S.PROBATIONARY, [1.0, 1.0, 1.0, 1.0])).toMatchObject({
      decision: "advance",
      rule: "probationPassed",
    });
  });
});

describe("cull rules", () => {
  it("culls a seed whose last harmReports losses each exceed their report's hostLoss by more than the margin (lossHarm)", () => {
    const harmful = [
      report(S.SHADOWING, 1.06, { hostLoss: 1.0 }),
      report(S.SHADOWING, 1.2, { hostLoss: 1.1 }),
    ];
    expect(decideAdvance({ seedId: "s1", stage: S.SHADOWING, reports: harmful }, settings)).toEqual({
      decision: "cull",
      rule: "lossHarm",
      reason:
        `2 consecutive reports exceed hostLoss by more than the margin 0.05 ` +
        `(report ${harmful[0]?.reportId}: loss 1.06 vs hostLoss 1; report ${harmful[1]?.reportId}: loss 1.2 vs hostLoss 1.1)`,
    });
    expect(judge(S.BLENDING, [1.0, 1.2, 1.3])).toMatchObject({ decision: "cull", rule: "lossHarm" });
    expect(judge(S.BLENDING, [0.5, 0.5], 0.4)).toMatchObject({ decision: "cull", rule: "lossHarm" });
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
    expect(decideAdvance({ seedId: "s1", stage: S.TRAINING, reports }, settings)).toEqual({
      decision: "cull",
      rule: "nonFiniteValues",
      reason: `report ${reports[1]?.reportId} has non-finite gradients`,
    });
    const nan = [report(S.SHADOWING, Number.NaN)];
    expect(decideAdvance({ seedId: "s1", stage: S.SHADOWING, reports: nan }, settings)).toMatchObject({
      decision: "cull",
      rule: "nonFiniteValues",
      reason: expect.stringMatching(/has loss NaN$/),
    });
  });
});

describe("decideAdvance input checks", () => {
  it("rejects a window with a report of another seed", () => {
    const reports = [report(S.TRAINING, 0.9), report(S.TRAINING, 0.8, { seedId: "s2" })];
    expect(() => decideAdvance({ seedId: "s1", stage: S.TRAINING, reports }, settings)).toThrow(
      MixedSeedWindowError,
    );
  });

  it("rejects bad thresholds, naming the field", () => {
    const window: SeedWindow = { seedId: "s1", stage: S.TRAINING, reports: [] };
    expect(() => decideAdvance(window, { ...settings, trainingReports: 0 })).toThrow(/trainingReports/);
    expect(() => decideAdvance(window, { ...settings, harmMargin: -0.1 })).toThrow(/harmMargin/);
    expect(() => decideAdvance(window, { ...settings, harmReports: 0 })).toThrow(/harmReports/);
  });
});
