import { SeedLifecycleStage as S } from "../../contracts/enums.ts";
import type { BlueprintDescriptor, KernelPrefetchResult } from "../../contracts/messages/kernel.ts";
import type { SeedReport } from "../../contracts/messages/seed.ts";
import type { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import { type AlphaSchedule, blendComplete } from "./alpha-schedule.ts";
import { MixedSeedWindowError } from "./errors.ts";
import type { SeedStage } from "./stages.ts";

/**
 * The gates of the reference (`gates.py`): G0 sanity (the kernel), G1 gradient health, G2 stability,
 * G3 interface, G4 system impact, G5 reset. A failing gate culls the seed (G5: refuses the reset).
 */
export type GateId = "G0" | "G1" | "G2" | "G3" | "G4" | "G5";

/** What each gate guards, for telemetry and the README. */
export const gateNames: Readonly<Record<GateId, string>> = {
  G0: "sanity",
  G1: "gradient health",
  G2: "stability",
  G3: "interface",
  G4: "system impact",
  G5: "reset",
};

/** G0 and G1 failures are CRITICAL (a broken kernel or a leak into the host); G2–G5 failures WARNING. */
export const criticalGates: ReadonlySet<GateId> = new Set(["G0", "G1"]);

/** A gate's verdict with the numbers it used. */
export interface GateVerdict {
  readonly gate: GateId;
  readonly passed: boolean;
  readonly reason: string;
}

/** The stages judged from seed reports. */
export type JudgedStage = typeof S.TRAINING | typeof S.BLENDING | typeof S.SHADOWING | typeof S.PROBATIONARY;

/** Where an `advance` decision moves a seed from each judged stage (every pair is in `seedTransitions`). */
export const advanceTarget: Readonly<Record<JudgedStage, SeedStage>> = {
  [S.TRAINING]: S.BLENDING,
  [S.BLENDING]: S.SHADOWING,
  [S.SHADOWING]: S.PROBATIONARY,
  [S.PROBATIONARY]: S.FOSSILIZED,
};

/** The gate that decides the advance out of each judged stage (G1 is checked on every report first). */
export const stageGate: Readonly<Record<JudgedStage, GateId>> = {
  [S.TRAINING]: "G2",
  [S.BLENDING]: "G3",
  [S.SHADOWING]: "G4",
  [S.PROBATIONARY]: "G4",
};

/** Whether reports decide what happens to a seed in `stage`. */
export function isJudgedStage(stage: number): stage is JudgedStage {
  return Object.hasOwn(advanceTarget, stage);
}

/** The report gates' verdict: hold, advance (the stage's gate passed) or cull (a gate failed). */
export interface GateDecision {
  readonly decision: "hold" | "advance" | "cull";
  readonly gate: GateId;
  readonly reason: string;
}

/** Thresholds of the report gates (WorkerSettings `gates`) and the seed's blend schedule. */
export interface GateSettings extends Readonly<WorkerSettings["gates"]> {
  /** The blend schedule; BLENDING ends once the reported blending steps reach its total. */
  readonly blend: AlphaSchedule;
}

/**
 * The reports of one seed in its current stage, oldest first, and the α range its plan allows
 * (`schedule.start`..`schedule.end`). Reports of an earlier stage are not counted. Each report carries
 * `loss` (the seed wired in at its alpha) and `hostLoss` (the same batches with the slot as identity).
 */
export interface SeedWindow {
  readonly seedId: string;
  readonly stage: JudgedStage;
  readonly reports: readonly SeedReport[];
  readonly alphaRange: readonly [number, number];
}

/** What G0 judges: Urza's answer (or its absence), the catalog's descriptor and the slot's width. */
export interface KernelEvidence {
  readonly blueprintId: string;
  /** Urza's answer, or why none came (`timeout`: no answer within the deadline). */
  readonly answer: KernelPrefetchResult | { readonly status: "timeout"; readonly requestId: string };
  /** The catalog's descriptor of `blueprintId`; undefined when the catalog has none. */
  readonly descriptor: BlueprintDescriptor | undefined;
  readonly slotWidth: number;
}

/**
 * G0 sanity: the kernel was verified and prewarmed by Urza (a KernelArtifactReady: its sha256 checked
 * and a probe row run through ONNX Runtime with finite outputs, timed p50/p95), it is the blueprint
 * asked for, its checksum is the catalog's, and its input and output widths are the slot's. A prefetch
 * error or timeout fails: there is no fallback kernel.
 */
export function sanityGate(e: KernelEvidence): GateVerdict {
  const fail = (reason: string): GateVerdict => ({ gate: "G0", passed: false, reason });
  const a = e.answer;
  if (a.status === "timeout") return fail(`kernel prefetch timed out (request ${a.requestId})`);
  if (a.status === "error") return fail(`kernel prefetch failed: ${a.code}: ${a.reason}`);
  if (a.blueprintId !== e.blueprintId)
    return fail(`kernel for blueprint ${a.blueprintId} arrived, ${e.blueprintId} was requested`);
  const d = e.descriptor;
  if (d === undefined) return fail(`blueprint ${e.blueprintId} is not in the catalog`);
  if (a.checksum !== d.artifactSha256 || a.artifactRef !== d.artifactSha256)
    return fail(`kernel ${a.artifactRef} has checksum ${a.checksum}, the catalog says ${d.artifactSha256}`);
  if (d.inputWidth !== e.slotWidth || d.outputWidth !== e.slotWidth)
    return fail(`kernel maps width ${d.inputWidth} → ${d.outputWidth}, the slot has width ${e.slotWidth}`);
  if (!Number.isFinite(a.prewarmP50Ms) || !Number.isFinite(a.prewarmP95Ms))
    return fail(`kernel probe timings are not finite (p50 ${a.prewarmP50Ms}, p95 ${a.prewarmP95Ms})`);
  return {
    gate: "G0",
    passed: true,
    reason: `kernel ${a.checksum} verified, probe run in ${a.prewarmP50Ms} ms p50 / ${a.prewarmP95Ms} ms p95, width ${e.slotWidth} → ${e.slotWidth}`,
  };
}

/** What G5 judges: a seed about to leave RESETTING for DORMANT. */
export interface ResetEvidence {
  readonly kernelAttached: boolean;
  readonly prefetchPending: boolean;
  readonly embargoUntilMs: number | undefined;
  readonly nowMs: number;
}

/** G5 reset: passes only when no kernel is attached, no kernel request is open and the embargo has ended. */
export function resetGate(e: ResetEvidence): GateVerdict {
  const fail = (reason: string): GateVerdict => ({ gate: "G5", passed: false, reason });
  if (e.kernelAttached) return fail("a kernel is still attached");
  if (e.prefetchPending) return fail("a kernel request is still open");
  if (e.embargoUntilMs !== undefined && e.nowMs < e.embargoUntilMs)
    return fail(`the embargo lasts until ${e.embargoUntilMs}, now is ${e.nowMs}`);
  return { gate: "G5", passed: true, reason: "no kernel attached, no request open, embargo over" };
}

const hold = (gate: GateId, reason: string): GateDecision => ({ decision: "hold", gate, reason });
const cull = (gate: GateId, reason: string): GateDecision => ({ decision: "cull", gate, reason });
const advance = (gate: GateId, reason: string): GateDecision => ({ decision: "advance", gate, reason });

/**
 * G1 gradient health, on every report of every judged stage: finite gradients and values, and isolation
 * holds (`isolationLeak` ≤ `isolationLeakMax`: the seed's gradients do not reach the host's).
 */
export function gradientHealthGate(reports: readonly SeedReport[], s: GateSettings): GateDecision {
  for (const r of reports) {
    if (r.nonFiniteGradients) return cull("G1", `report ${r.reportId} has non-finite gradients`);
    for (const [field, value] of Object.entries(r)) {
      if (typeof value === "number" && !Number.isFinite(value))
        return cull("G1", `report ${r.reportId} has ${field} ${value}`);
    }
    if (r.isolationLeak > s.isolationLeakMax)
      return cull(
        "G1",
        `report ${r.reportId}: isolation leak ${r.isolationLeak} exceeds ${s.isolationLeakMax}`,
      );
  }
  return hold("G1", "gradients finite, isolation holds");
}

/**
 * G2 stability (TRAINING → BLENDING): culls when a report's seed gradient norm exceeds
 * `seedGradientNormMax`; advances after `trainingReports` consecutive reports whose loss never increases.
 */
export function stabilityGate(reports: readonly SeedReport[], s: GateSettings): GateDecision {
  for (const r of reports) {
    if (r.seedGradientNorm > s.seedGradientNormMax)
      return cull(
        "G2",
        `report ${r.reportId}: seed gradient norm ${r.seedGradientNorm} exceeds ${s.seedGradientNormMax}`,
      );
  }
  const n = s.trainingReports;
  if (reports.length < n) return hold("G2", `${reports.length} of ${n} reports`);
  let previous: SeedReport | undefined;
  for (const r of reports.slice(-n)) {
    if (previous !== undefined && r.loss > previous.loss)
      return hold("G2", `loss rose from ${previous.loss} to ${r.loss} at report ${r.reportId}`);
    previous = r;
  }
  return advance("G2", `loss non-increasing over ${n} reports`);
}

/**
 * G3 interface (BLENDING → SHADOWING): the host runs the seed at the α the plan allows (every report's
 * alpha within `alphaRange`), without persistent loss harm; advances once the reported blending steps
 * reach the schedule's total.
 */
export function interfaceGate(reports: readonly SeedReport[], w: SeedWindow, s: GateSettings): GateDecision {
  const [lo, hi] = w.alphaRange;
  for (const r of reports) {
    if (r.alpha < lo || r.alpha > hi)
      return cull("G3", `report ${r.reportId}: alpha ${r.alpha} outside the plan's [${lo}, ${hi}]`);
  }
  const harm = lossHarm("G3", reports, s);
  if (harm !== undefined) return harm;
  const steps = reports.reduce((sum, r) => sum + r.steps, 0);
  const total = s.blend.totalSteps;
  return blendComplete(steps, s.blend)
    ? advance("G3", `${steps} of ${total} blending steps done`)
    : hold("G3", `${steps} of ${total} blending steps done`);
}

/**
 * G4 system impact (SHADOWING → PROBATIONARY after `shadowingReports`, PROBATIONARY → FOSSILIZED after
 * `probationReports` consecutive harmless reports); culls on persistent loss harm.
 */
export function systemImpactGate(
  reports: readonly SeedReport[],
  w: SeedWindow,
  s: GateSettings,
): GateDecision {
  const harm = lossHarm("G4", reports, s);
  if (harm !== undefined) return harm;
  const n = w.stage === S.SHADOWING ? s.shadowingReports : s.probationReports;
  let run = 0;
  for (const r of [...reports].reverse()) {
    if (harms(r, s)) break;
    run++;
  }
  const what = `consecutive reports with loss <= hostLoss + ${s.harmMargin}`;
  return run >= n ? advance("G4", `${run} ${what}`) : hold("G4", `${run} of ${n} ${what}`);
}

/**
 * Judges one seed from its window: G1 on every counted report, then the stage's gate (G2 TRAINING, G3
 * BLENDING, G4 SHADOWING and PROBATIONARY). Throws MixedSeedWindowError for a report of another seed and
 * RangeError for bad settings.
 */
export function judgeReports(window: SeedWindow, settings: GateSettings): GateDecision {
  checkGateSettings(settings);
  for (const r of window.reports) {
    if (r.seedId !== window.seedId) throw new MixedSeedWindowError(window.seedId, r.seedId);
  }
  const counted = window.reports.filter((r) => r.stage === window.stage);
  const health = gradientHealthGate(counted, settings);
  if (health.decision === "cull") return health;
  switch (stageGate[window.stage]) {
    case "G2":
      return stabilityGate(counted, settings);
    case "G3":
      return interfaceGate(counted, window, settings);
    default:
      return systemImpactGate(counted, window, settings);
  }
}

/**
 * Persistent loss harm: each of the stage's last `harmReports` reports has a loss above its own
 * `hostLoss` by more than the margin (one report is one batch: a single one above is noise).
 */
function lossHarm(gate: GateId, reports: readonly SeedReport[], s: GateSettings): GateDecision | undefined {
  const n = s.harmReports;
  const harmful: SeedReport[] = [];
  for (const r of [...reports].reverse()) {
    if (harmful.length === n || !harms(r, s)) break;
    harmful.unshift(r);
  }
  if (harmful.length < n) return undefined;
  const each = harmful
    .map((r) => `report ${r.reportId}: loss ${r.loss} vs hostLoss ${r.hostLoss}`)
    .join("; ");
  return cull(
    gate,
    `${n} consecutive reports exceed hostLoss by more than the margin ${s.harmMargin} (${each})`,
  );
}

/** A report shows harm when its loss with the seed exceeds its own host loss by more than the margin. */
function harms(report: SeedReport, s: GateSettings): boolean {
  return report.loss > report.hostLoss + s.harmMargin;
}

/** Throws RangeError naming the first bad threshold (report counts integers >= 1, harmMargin and the maxima finite >= 0). */
export function checkGateSettings(settings: Readonly<WorkerSettings["gates"]>): void {
  for (const field of ["trainingReports", "shadowingReports", "probationReports", "harmReports"] as const) {
    const value = settings[field];
    if (!Number.isSafeInteger(value) || value < 1)
      throw new RangeError(`${field} must be an integer >= 1, got ${value}`);
  }
  for (const field of ["harmMargin", "isolationLeakMax", "seedGradientNormMax"] as const) {
    const value = settings[field];
    if (!Number.isFinite(value) || value < 0)
      throw new RangeError(`${field} must be a finite number >= 0, got ${value}`);
  }
}
