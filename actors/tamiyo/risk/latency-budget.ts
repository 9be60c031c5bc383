import { figure } from "./figures.ts";
import { type RiskEvaluator, type RiskVerdict, verdict } from "./risk-types.ts";
import { HOOK_LATENCY_BUDGET_MS, HOOK_LATENCY_EXTRA, STEP_LATENCY_BUDGET_MS } from "./thresholds.ts";

const NAME = "latency-budget";

/**
 * Training latency budgets. Step: the epoch's mean step time (`epochDurationMs` over the steps since
 * the run's previous packet, which must be of the epoch before) above `STEP_LATENCY_BUDGET_MS` vetoes
 * (`step_latency_high`). Hook: `trainingMetrics.extra.hookLatencyMs` above `HOOK_LATENCY_BUDGET_MS`
 * vetoes (`hook_budget`); a packet without it is annotated `hook_latency_unmeasured` (the budget was
 * not checked, and the reply says so).
 */
export const latencyBudget: RiskEvaluator = {
  name: NAME,
  evaluate({ packet, previous }) {
    const out: RiskVerdict[] = [];
    const steps = previous === undefined ? 0 : packet.globalStep - previous.globalStep;
    if (previous !== undefined && previous.epoch === packet.currentEpoch - 1 && steps > 0) {
      const stepMs = packet.trainingMetrics.epochDurationMs / steps;
      if (stepMs > STEP_LATENCY_BUDGET_MS) {
        out.push(
          verdict(
            NAME,
            "veto",
            "step_latency_high",
            `mean step ${figure(stepMs)} ms over ${steps} steps of epoch ${packet.currentEpoch} exceeds the ${STEP_LATENCY_BUDGET_MS} ms budget`,
          ),
        );
      }
    }
    const hookMs = packet.trainingMetrics.extra[HOOK_LATENCY_EXTRA];
    if (hookMs === undefined) {
      out.push(
        verdict(
          NAME,
          "annotate",
          "hook_latency_unmeasured",
          `the packet carries no trainingMetrics.extra.${HOOK_LATENCY_EXTRA}: the ${HOOK_LATENCY_BUDGET_MS} ms hook budget is not checked`,
        ),
      );
    } else if (hookMs > HOOK_LATENCY_BUDGET_MS) {
      out.push(
        verdict(
          NAME,
          "veto",
          "hook_budget",
          `hook latency ${figure(hookMs)} ms exceeds the ${HOOK_LATENCY_BUDGET_MS} ms budget`,
        ),
      );
    }
    return out;
  },
};
