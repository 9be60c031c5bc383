import { figure } from "./figures.ts";
import { type RiskEvaluator, verdict } from "./risk-types.ts";

const NAME = "timeouts";

/**
 * The policy's time for this decision against the inference budget (worker settings
 * `budgets.tamiyoInferenceMs`): over it vetoes and is critical (`timeout_inference`): a late decision is
 * about a state that has moved on, and a slow policy puts the run in conservative mode.
 */
export function timeouts(inferenceBudgetMs: number): RiskEvaluator {
  return {
    name: NAME,
    evaluate({ policyLatencyMs }) {
      if (policyLatencyMs <= inferenceBudgetMs) return [];
      return [
        verdict(
          NAME,
          "veto",
          "timeout_inference",
          `the policy took ${figure(policyLatencyMs)} ms, over the ${inferenceBudgetMs} ms inference budget`,
          true,
        ),
      ];
    },
  };
}
