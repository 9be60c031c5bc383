import type { DecisionRisk, RiskFinding, SystemStatePacket } from "../../../contracts/index.ts";
import type { GerminateAction } from "../policy.ts";
import { blueprintRisk } from "./blueprint-risk.ts";
import { type ConservativeTransition, nextConservativeMode } from "./conservative-mode.ts";
import { latencyBudget } from "./latency-budget.ts";
import { lossSpike } from "./loss-spike.ts";
import type { GerminationCandidate, RiskEvaluator, RiskVerdict, RunRiskState } from "./risk-types.ts";
import { seedHealth } from "./seed-health.ts";
import { DOWNGRADE_BLEND_FACTOR, MAX_BLEND_STEPS } from "./thresholds.ts";
import { timeouts } from "./timeouts.ts";

/** The evaluator that vetoes every germination while the run is in conservative mode. */
export const CONSERVATIVE_EVALUATOR = "conservative-mode";

/** What the risk engine needs: the inference budget in force (worker settings `budgets.tamiyoInferenceMs`). */
export interface RiskEngineOptions {
  readonly inferenceBudgetMs: number;
}

/** One decision to assess. */
export interface RiskInput {
  readonly packet: SystemStatePacket;
  /** The checked germination, or undefined for a no-op. */
  readonly germination: GerminationCandidate | undefined;
  readonly policyLatencyMs: number;
  /** The run's risk state before this packet. */
  readonly state: RunRiskState;
}

/** The outcome of an assessment. */
export interface RiskAssessment {
  /** The germination to command (downgraded when a finding asked for it); undefined when vetoed or a no-op. */
  readonly germination: GerminateAction | undefined;
  /** The reply's risk block. */
  readonly risk: DecisionRisk;
  /** The run's risk state after this packet. */
  readonly state: RunRiskState;
  readonly transition: ConservativeTransition;
}

/** Runs the evaluators on one decision, applies conservative mode and the vetoes and downgrades. */
export interface RiskEngine {
  readonly evaluators: readonly RiskEvaluator[];
  assess(input: RiskInput): RiskAssessment;
}

/**
 * The risk engine: the evaluators in order (loss spike, latency budgets, timeouts, blueprint risk,
 * seed health), each returning findings. A germination is vetoed by any veto finding, and by
 * `conservative_mode` when the run was in conservative mode and this packet does not end it
 * (`conservative-mode.ts`): conservative mode lets only safe actions pass, and the only safe action
 * of the policy is the no-op. Otherwise each
 * downgrade finding is recorded and the germination blends in over `DOWNGRADE_BLEND_FACTOR` times its
 * steps (once, however many downgrades). On a no-op there is no command to act on: every finding is
 * an annotation. Score: 1 when a finding vetoes, at least 0.5 when one downgrades, at least the
 * germinated blueprint's catalog risk.
 */
export function createRiskEngine({ inferenceBudgetMs }: RiskEngineOptions): RiskEngine {
  const evaluators = [lossSpike, latencyBudget, timeouts(inferenceBudgetMs), blueprintRisk, seedHealth];
  return {
    evaluators,
    assess({ packet, germination, policyLatencyMs, state }) {
      const ctx = { packet, previous: state.previous, germination, policyLatencyMs };
      const verdicts = evaluators.flatMap((e) => e.evaluate(ctx));
      const mode = nextConservativeMode(state, verdicts);
      const next: RunRiskState = {
        conservative: mode.conservative,
        calmPackets: mode.calmPackets,
        previous: {
          epoch: packet.currentEpoch,
          validationLoss: packet.validationLoss,
          globalStep: packet.globalStep,
        },
      };
      const score = Math.max(
        ...verdicts.map((v) => (v.effect === "veto" ? 1 : v.effect === "downgrade" ? 0.5 : 0)),
        germination?.blueprint.risk ?? 0,
      );
      const base = { score, conservative: mode.conservative };
      if (germination === undefined) {
        const risk = { ...base, vetoes: [], downgrades: [], annotations: verdicts.map(finding) };
        return { germination: undefined, risk, state: next, transition: mode.transition };
      }
      const vetoes = verdicts.filter((v) => v.effect === "veto").map(finding);
      if (state.conservative && mode.conservative) {
        vetoes.push({
          evaluator: CONSERVATIVE_EVALUATOR,
          reason: "conservative_mode",
          detail: `run ${packet.trainingRunId} is in conservative mode: only safe actions pass`,
        });
      }
      const downgrades = verdicts.filter((v) => v.effect === "downgrade").map(finding);
      const annotations = verdicts.filter((v) => v.effect === "annotate").map(finding);
      const risk = { ...base, score: vetoes.length > 0 ? 1 : score, vetoes, downgrades, annotations };
      const action =
        vetoes.length > 0
          ? undefined
          : downgrades.length > 0
            ? downgraded(germination.action)
            : germination.action;
      return { germination: action, risk, state: next, transition: mode.transition };
    },
  };
}

function finding({ evaluator, reason, detail }: RiskVerdict): RiskFinding {
  return { evaluator, reason, detail };
}

/** The germination blending in over `DOWNGRADE_BLEND_FACTOR` times its steps (at most the contract's maximum). */
export function downgraded(action: GerminateAction): GerminateAction {
  const { schedule } = action.blend;
  const steps = Math.min(schedule.steps * DOWNGRADE_BLEND_FACTOR, MAX_BLEND_STEPS);
  return { ...action, blend: { ...action.blend, schedule: { ...schedule, steps } } };
}
