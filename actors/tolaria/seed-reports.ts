import { validate } from "../../contracts/codec.ts";
import { SeedLifecycleStage } from "../../contracts/enums.ts";
import type { SeedReport } from "../../contracts/messages/seed.ts";
import type { ModelRunner, StepInputs, StepResult } from "../../nn/model/runner.ts";
import type { SeedEntry } from "../../nn/model/seed-registry.ts";
import { timelineTag } from "./trainer-snapshot.ts";

/** Which run, step and time the reports of one step belong to. */
export interface ReportContext {
  readonly trainingRunId: string;
  readonly epoch: number;
  /** Steps completed, the reporting step included. */
  readonly globalStep: number;
  readonly issuedAt: number;
  /** Restores the trainer has had (`timelineTag` in the report id). */
  readonly timeline: number;
}

/** Means over a report's window of the per-step gradient measures (`gradient-aggregation.ts`); conflicts summed. */
export interface WindowMeasures {
  readonly interfaceGradientNorm: number;
  readonly gradientShare: number;
  readonly gradientCosine: number;
  readonly conflicts: number;
  readonly conflictRatio: number;
}

/** One live seed to report on. */
export interface ReportedSeed {
  readonly entry: SeedEntry;
  /** α its slot ran the step with: 0 before BLENDING, the fed α while BLENDING, 1 once fully active. */
  readonly alpha: number;
  /** Steps it trained in its current stage since its last report. */
  readonly steps: number;
  readonly window: WindowMeasures;
}

/** L2 norm (float64 accumulation) and finiteness of the gradients of `names` that `grads` holds. */
export function gradientNorm(
  grads: ReadonlyMap<string, Float32Array>,
  names: Iterable<string>,
): { readonly norm: number; readonly finite: boolean } {
  let sum = 0;
  let finite = true;
  for (const name of names) {
    const g = grads.get(name);
    if (!g) continue;
    for (let i = 0; i < g.length; i++) {
      const v = g[i] as number;
      if (!Number.isFinite(v)) finite = false;
      else sum += v * v;
    }
  }
  return { norm: Math.sqrt(sum), finite };
}

/** Loss of the evaluation graph on `inputs` with `slotId` wired as identity (the host without the seed). */
async function hostLossAt(runner: ModelRunner, slotId: string, inputs: StepInputs): Promise<number> {
  const wiring = runner.wirings.get(slotId);
  if (!wiring) return (await runner.evaluate(inputs)).loss;
  runner.setWiring(slotId, { kind: "identity" });
  try {
    return (await runner.evaluate(inputs)).loss;
  } finally {
    runner.setWiring(slotId, wiring);
  }
}

/**
 * A SeedReport per seed for the step that ran `inputs` and gave `result`, measured before the optimizer
 * update (same parameters as the step):
 * - `loss`: the step's loss, the seed wired as staged (with dropout in the host, the evaluation
 *   graph's loss instead, so that `loss` and `hostLoss` differ only by the seed);
 * - `hostLoss`: one extra forward of the evaluation graph with the seed's slot as identity;
 * - gradient norms from the step's gradients: the seed's parameters vs every non-seed parameter;
 * - `isolationLeak`: |loss − hostLoss| while TRAINING (the incubator must leave the output as the
 *   host's), 0 in the other stages, where the seed is meant to change the output;
 * - `gradientCosine`, `interfaceGradientNorm`, `gradientShare`, `conflicts`, `conflictRatio`: the
 *   window's measures at the seed's slot (the cosine between the seed path's and the host path's
 *   ∂L/∂h is the isolation cosine: in TRAINING it is what the seed would send into the host).
 * Each report is validated against the contract (ContractError naming the field, e.g. a non-finite loss).
 */
export async function measureSeedReports(
  runner: ModelRunner,
  seeds: readonly ReportedSeed[],
  inputs: StepInputs,
  result: StepResult,
  ctx: ReportContext,
): Promise<SeedReport[]> {
  if (seeds.length === 0) return [];
  const loss = runner.layout.dropouts.length > 0 ? (await runner.evaluate(inputs)).loss : result.loss;
  const hostParams = [...result.grads.keys()].filter((n) => !n.startsWith("seed/"));
  const host = gradientNorm(result.grads, hostParams);
  const reports: SeedReport[] = [];
  for (const { entry, alpha, steps, window } of seeds) {
    const hostLoss = await hostLossAt(runner, entry.slotId, inputs);
    const seed = gradientNorm(result.grads, entry.params);
    const parameterCount = entry.params.reduce((n, p) => n + runner.store.get(p).length, 0);
    const seedId = entry.seed.seedId;
    reports.push(
      validate("SeedReport", {
        reportId: `${ctx.trainingRunId}-report-${seedId}-${ctx.globalStep}${timelineTag(ctx.timeline)}`,
        trainingRunId: ctx.trainingRunId,
        seedId,
        stage: entry.stage,
        epoch: ctx.epoch,
        globalStep: ctx.globalStep,
        steps,
        alpha,
        loss,
        hostLoss,
        lossDelta: loss - hostLoss,
        seedGradientNorm: seed.norm,
        hostGradientNorm: host.norm,
        gradientCosine: window.gradientCosine,
        isolationLeak: entry.stage === SeedLifecycleStage.TRAINING ? Math.abs(loss - hostLoss) : 0,
        interfaceGradientNorm: window.interfaceGradientNorm,
        gradientShare: window.gradientShare,
        conflicts: window.conflicts,
        conflictRatio: window.conflictRatio,
        parameterCount,
        nonFiniteGradients: !seed.finite,
        issuedAt: ctx.issuedAt,
      }),
    );
  }
  return reports;
}
