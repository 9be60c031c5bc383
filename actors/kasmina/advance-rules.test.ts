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
import { MissingHostBaselineError, MixedSeedWindowError } from "./errors.ts";
import { seedTransitions } from "./lifecycle.ts";

const settings: AdvanceRuleSettings = {
  trainingReports: 3,
  shadowingReports: 3,
  probationReports: 4,
  harmMargin: 0.05,
  blend: { totalSteps: 20, temperature: 2 },
};

let counter = 0;
function report(stage: SeedReport["stage"], loss: number, extra: Partial<SeedReport> = {}): SeedReport {
  counter++;
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
    lossDelta: 0,
    seedGradientNorm: 1,
    hostGradientNorm: 1,
    gradientCosine: 0,
    isolationLeak: 0,
    parameterCount: 100,
    nonFiniteGradients: false,
    issuedAt: 1_000 + counter,
    ...extra,
  };
}

function judge(stage: JudgedStage, losses: readonly number[], hostLossBaseline: number | undefined) {
  const window: SeedWindow = {
    seedId: "s1",
    stage,
    reports: losses.map((l) => report(stage, l)),
    hostLossBaseline,
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
    expect(judge(S.TRAINING, [0.9, 0.8], 1.0)).toEqual({
      decision: "hold",
      rule: "trainingLossSettled",
      reason: "2 of 3 reports",
    });
  });

  it("advances after N reports whose loss never increases (equal counts as non-increasing)", () => {
    expect(judge(S.TRAINING, [0.9, 0.8, 0.8], 1.0)).toMatchObject({
      decision: "advance",
      rule: "trainingLossSettled",
    });
  });

  it("holds when the loss rose within the last N reports, and ignores a rise before them", () => {
    expect(judge(S.TRAINING, [0.9, 0.95, 0.8], 1.0)).toMatchObject({
      decision: "hold",
      reason: expect.stringMatching(/rose from 0.9 to 0.95/),
    });
    expect(judge(S.TRAINING, [0.5, 0.9, 0.8, 0.7], 1.0)).toMatchObject({ decision: "advance" });
  });

  it("does not count reports of an earlier stage", () => {
    const reports = [report(S.GERMINATED, 0.9), report(S.TRAINING, 0.8), report(S.TRAINING, 0.7)];
    const verdict = decideAdvance(
      { seedId: "s1", stage: S.TRAINING, reports, hostLossBaseline: undefined },
      settings,
    );
    expect(verdict).toMatchObject({ decision: "hold", reason: "2 of 3 reports" });
  });

  it("does not apply the loss-harm rule while alpha is 0", () => {
    expect(judge(S.TRAINING, [5, 4, 3], 1.0)).toMatchObject({ decision: "advance" });
  });
});

describe("BLENDING → SHADOWING (blendScheduleCompleted)", () => {
  it("holds until the reported blending steps reach the schedule's total, then advances", () => {
    expect(judge(S.BLENDING, [1.0], 1.0)).toEqual({
      decision: "hold",
      rule: "blendScheduleCompleted",
      reason: "10 of 20 blending steps done",
    });
    expect(judge(S.BLENDING, [1.0, 1.0], 1.0)).toMatchObject({
      decision: "advance",
      rule: "blendScheduleCompleted",
    });
  });

  it("needs the host baseline", () => {
    expect(() => judge(S.BLENDING, [1.0], undefined)).toThrow(MissingHostBaselineError);
    expect(() => judge(S.BLENDING, [1.0], Number.NaN)).toThrow(/hostLossBaseline must be finite/);
  });
});

describe("SHADOWING → PROBATIONARY (shadowingHarmless) and PROBATIONARY → FOSSILIZED (probationPassed)", () => {
  it("advances after N consecutive reports within the margin of the baseline", () => {
    expect(judge(S.SHADOWING, [1.0, 1.05, 0.9], 1.0)).toMatchObject({
      decision: "advance",
      rule: "shadowingHarmless",
    });
    expect(judge(S.SHADOWING, [1.0, 0.9], 1.0)).toMatchObject({
      decision: "hold",
      rule: "shadowingHarmless",
    });
  });

  it("restarts the count after a harmful report", () => {
    expect(judge(S.SHADOWING, [1.0, 1.0, 1.2, 1.0, 1.0], 1.0)).toMatchObject({
      decision: "hold",
      reason: "2 of 3 consecutive reports with loss <= 1.05",
    });
  });

  it("uses its own count for probation", () => {
    expect(judge(S.PROBATIONARY, [1.0, 1.0, 1.0], 1.0)).toMatchObject({
      decision: "hold",
      rule: "probationPassed",
    });
    expect(judge(S.PROBATIONARY, [1.0, 1.0, 1.0, 1.0], 1.0)).toMatchObject({
      decision: "advance",
      rule: "probationPassed",
    });
  });
});

describe("cull rules", () => {
  it("culls a seed whose latest loss exceeds the baseline by more than the margin (lossHarm)", () => {
    expect(judge(S.SHADOWING, [1.0, 1.0, 1.06], 1.0)).toEqual({
      decision: "cull",
      rule: "lossHarm",
      reason: "loss 1.06 exceeds host baseline 1 by more than the margin 0.05",
    });
    expect(judge(S.BLENDING, [1.0, 1.2], 1.0)).toMatchObject({ decision: "cull", rule: "lossHarm" });
    expect(judge(S.PROBATIONARY, [1.05], 1.0)).toMatchObject({ decision: "hold" });
  });

  it("culls a seed with non-finite gradients or a non-finite value, in any stage, before advancing", () => {
    const reports = [
      report(S.TRAINING, 0.9),
      report(S.TRAINING, 0.8, { nonFiniteGradients: true }),
      report(S.TRAINING, 0.7),
    ];
    expect(
      decideAdvance({ seedId: "s1", stage: S.TRAINING, reports, hostLossBaseline: undefined }, settings),
    ).toEqual({
      decision: "cull",
      rule: "nonFiniteValues",
      reason: `report ${reports[1]?.reportId} has non-finite gradients`,
    });
    const nan = [report(S.SHADOWING, Number.NaN)];
    expect(
      decideAdvance({ seedId: "s1", stage: S.SHADOWING, reports: nan, hostLossBaseline: 1 }, settings),
    ).toMatchObject({
      decision: "cull",
      rule: "nonFiniteValues",
      reason: expect.stringMatching(/has loss NaN$/),
    });
  });
});

describe("decideAdvance input checks", () => {
  it("rejects a window with a report of another seed", () => {
    const reports = [report(S.TRAINING, 0.9), report(S.TRAINING, 0.8, { seedId: "s2" })];
    expect(() =>
      decideAdvance({ seedId: "s1", stage: S.TRAINING, reports, hostLossBaseline: 1 }, settings),
    ).toThrow(MixedSeedWindowError);
  });

  it("rejects bad thresholds, naming the field", () => {
    const window: SeedWindow = { seedId: "s1", stage: S.TRAINING, reports: [], hostLossBaseline: 1 };
    expect(() => decideAdvance(window, { ...settings, trainingReports: 0 })).toThrow(/trainingReports/);
    expect(() => decideAdvance(window, { ...settings, harmMargin: -0.1 })).toThrow(/harmMargin/);
  });
});
