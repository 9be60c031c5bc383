import { SeedLifecycleStage as S } from "../../contracts/enums.ts";
import type { SeedReport } from "../../contracts/messages/seed.ts";
import { type AlphaSchedule, blendComplete } from "./alpha-schedule.ts";
import { MixedSeedWindowError } from "./errors.ts";
import type { SeedStage } from "./stages.ts";

/** The stages judged from seed reports. */
export type JudgedStage = typeof S.TRAINING | typeof S.BLENDING | typeof S.SHADOWING | typeof S.PROBATIONARY;

/** Where an `advance` decision moves a seed from each judged stage (every pair is in `seedTransitions`). */
export const advanceTarget: Readonly<Record<JudgedStage, SeedStage>> = {
  [S.TRAINING]: S.BLENDING,
  [S.BLENDING]: S.SHADOWING,
  [S.SHADOWING]: S.PROBATIONARY,
  [S.PROBATIONARY]: S.FOSSILIZED,
};

/** Whether reports decide what happens to a seed in `stage`. */
export function isJudgedStage(stage: number): stage is JudgedStage {
  return Object.hasOwn(advanceTarget, stage);
}

/** A rule's verdict, the rule's name and a reason with the numbers it used. */
export interface RuleDecision {
  readonly decision: "hold" | "advance" | "cull";
  readonly rule: string;
  readonly reason: string;
}

/** Thresholds of the rules (none is in WorkerSettings yet: the caller passes them). */
export interface AdvanceRuleSettings {
  /** Consecutive TRAINING reports with non-increasing loss before BLENDING. */
  readonly trainingReports: number;
  /** Consecutive harmless SHADOWING reports before PROBATIONARY. */
  readonly shadowingReports: number;
  /** Consecutive harmless PROBATIONARY reports before FOSSILIZED. */
  readonly probationReports: number;
  /** How much higher than a report's `hostLoss` its `loss` may be before the seed harms the host (absolute, ≥ 0). */
  readonly harmMargin: number;
  /**
   * Consecutive harmful reports of a stage before `lossHarm` culls: each report is one batch, so one
   * report above the margin can be that batch's noise; harm that persists is not.
   */
  readonly harmReports: number;
  /** The blend schedule; BLENDING ends once the reported blending steps reach its total. */
  readonly blend: AlphaSchedule;
}

/**
 * The reports of one seed in its current stage, oldest first. Reports of an earlier stage (sent before
 * Tolaria applied the last directive) are not counted. Each report carries `loss` (the seed wired in at
 * its alpha) and `hostLoss` (the same batches with the seed's slot as identity).
 */
export interface SeedWindow {
  readonly seedId: string;
  readonly stage: JudgedStage;
  readonly reports: readonly SeedReport[];
}

type Rule = (
  reports: readonly SeedReport[],
  window: SeedWindow,
  settings: AdvanceRuleSettings,
) => RuleDecision;

const hold = (rule: string, reason: string): RuleDecision => ({ decision: "hold", rule, reason });

/** Culls a seed with non-finite gradients or a non-finite number in any counted report. */
export const nonFiniteValues: Rule = (reports) => {
  for (const r of reports) {
    if (r.nonFiniteGradients) {
      return {
        decision: "cull",
        rule: "nonFiniteValues",
        reason: `report ${r.reportId} has non-finite gradients`,
      };
    }
    for (const [field, value] of Object.entries(r)) {
      if (typeof value === "number" && !Number.isFinite(value)) {
        return {
          decision: "cull",
          rule: "nonFiniteValues",
          reason: `report ${r.reportId} has ${field} ${value}`,
        };
      }
    }
  }
  return hold("nonFiniteValues", "all values finite");
};

/**
 * Culls a seed (from BLENDING on) when each of the stage's last `harmReports` reports has a loss above
 * its own `hostLoss` by more than the margin.
 */
export const lossHarm: Rule = (reports, window, settings) => {
  if (window.stage === S.TRAINING)
    return hold("lossHarm", "alpha is 0 in TRAINING: the seed cannot change the loss");
  const n = settings.harmReports;
  const harmful: SeedReport[] = [];
  for (const r of [...reports].reverse()) {
    if (harmful.length === n || !harms(r, settings)) break;
    harmful.unshift(r);
  }
  if (harmful.length < n)
    return hold(
      "lossHarm",
      `${harmful.length} of ${n} consecutive reports with loss > hostLoss + ${settings.harmMargin}`,
    );
  const each = harmful
    .map((r) => `report ${r.reportId}: loss ${r.loss} vs hostLoss ${r.hostLoss}`)
    .join("; ");
  return {
    decision: "cull",
    rule: "lossHarm",
    reason: `${n} consecutive reports exceed hostLoss by more than the margin ${settings.harmMargin} (${each})`,
  };
};

/** TRAINING → BLENDING after `trainingReports` consecutive reports whose loss never increases. */
export const trainingLossSettled: Rule = (reports, _window, settings) => {
  const n = settings.trainingReports;
  if (reports.length < n) return hold("trainingLossSettled", `${reports.length} of ${n} reports`);
  let previous: SeedReport | undefined;
  for (const r of reports.slice(-n)) {
    if (previous !== undefined && r.loss > previous.loss) {
      return hold(
        "trainingLossSettled",
        `loss rose from ${previous.loss} to ${r.loss} at report ${r.reportId}`,
      );
    }
    previous = r;
  }
  return {
    decision: "advance",
    rule: "trainingLossSettled",
    reason: `loss non-increasing over ${n} reports`,
  };
};

/** BLENDING → SHADOWING once the steps reported in BLENDING reach the blend schedule's total. */
export const blendScheduleCompleted: Rule = (reports, _window, settings) => {
  const steps = reports.reduce((sum, r) => sum + r.steps, 0);
  const total = settings.blend.totalSteps;
  return blendComplete(steps, settings.blend)
    ? {
        decision: "advance",
        rule: "blendScheduleCompleted",
        reason: `${steps} of ${total} blending steps done`,
      }
    : hold("blendScheduleCompleted", `${steps} of ${total} blending steps done`);
};

/** SHADOWING → PROBATIONARY after `shadowingReports` consecutive reports without loss harm. */
export const shadowingHarmless: Rule = (reports, _window, settings) =>
  harmlessRun("shadowingHarmless", settings.shadowingReports, reports, settings);

/** PROBATIONARY → FOSSILIZED after `probationReports` consecutive reports without loss harm. */
export const probationPassed: Rule = (reports, _window, settings) =>
  harmlessRun("probationPassed", settings.probationReports, reports, settings);

/** The rules that may cull, checked first, in this order. */
export const cullRules: readonly Rule[] = [nonFiniteValues, lossHarm];

/** The rule that may advance each judged stage. */
export const advanceRules: Readonly<Record<JudgedStage, Rule>> = {
  [S.TRAINING]: trainingLossSettled,
  [S.BLENDING]: blendScheduleCompleted,
  [S.SHADOWING]: shadowingHarmless,
  [S.PROBATIONARY]: probationPassed,
};

/**
 * Judges one seed from its window: the first cull rule that culls decides; otherwise the stage's
 * advance rule does. Throws MixedSeedWindowError for a report of another seed and RangeError for bad
 * settings.
 */
export function decideAdvance(window: SeedWindow, settings: AdvanceRuleSettings): RuleDecision {
  checkAdvanceSettings(settings);
  for (const r of window.reports) {
    if (r.seedId !== window.seedId) throw new MixedSeedWindowError(window.seedId, r.seedId);
  }
  const counted = window.reports.filter((r) => r.stage === window.stage);
  for (const rule of cullRules) {
    const verdict = rule(counted, window, settings);
    if (verdict.decision === "cull") return verdict;
  }
  return advanceRules[window.stage](counted, window, settings);
}

function harmlessRun(
  rule: string,
  n: number,
  reports: readonly SeedReport[],
  settings: AdvanceRuleSettings,
): RuleDecision {
  let run = 0;
  for (const r of [...reports].reverse()) {
    if (harms(r, settings)) break;
    run++;
  }
  const what = `consecutive reports with loss <= hostLoss + ${settings.harmMargin}`;
  return run >= n
    ? { decision: "advance", rule, reason: `${run} ${what}` }
    : hold(rule, `${run} of ${n} ${what}`);
}

/** A report shows harm when its loss with the seed exceeds its own host loss by more than the margin. */
function harms(report: SeedReport, settings: AdvanceRuleSettings): boolean {
  return report.loss > report.hostLoss + settings.harmMargin;
}

/** Throws RangeError naming the first bad threshold (report counts, `harmReports` included, are integers >= 1, harmMargin finite >= 0). */
export function checkAdvanceSettings(settings: AdvanceRuleSettings): void {
  for (const field of ["trainingReports", "shadowingReports", "probationReports", "harmReports"] as const) {
    const value = settings[field];
    if (!Number.isSafeInteger(value) || value < 1)
      throw new RangeError(`${field} must be an integer >= 1, got ${value}`);
  }
  if (!Number.isFinite(settings.harmMargin) || settings.harmMargin < 0) {
    throw new RangeError(`harmMargin must be a finite number >= 0, got ${settings.harmMargin}`);
  }
}
