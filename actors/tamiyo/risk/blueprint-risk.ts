import { BlueprintTier } from "../../../contracts/index.ts";
import { figure } from "./figures.ts";
import { type RiskEvaluator, type RiskVerdict, verdict } from "./risk-types.ts";
import { BLUEPRINT_RISK_DOWNGRADE, BLUEPRINT_RISK_VETO } from "./thresholds.ts";

const NAME = "blueprint-risk";

const tierName = (tier: number): string =>
  Object.entries(BlueprintTier).find(([, code]) => code === tier)?.[0] ?? `tier ${tier}`;

/**
 * The germinated blueprint's catalog entry: `quarantineOnly` vetoes (`bp_quarantine`, critical); risk
 * ≥ `BLUEPRINT_RISK_VETO` vetoes (`blueprint_risk_critical`, critical); `approvalRequired` without the
 * job's approval vetoes (`blueprint_unapproved`); risk ≥ `BLUEPRINT_RISK_DOWNGRADE` downgrades
 * (`blueprint_risk`) unless the job approved the blueprint, which is annotated
 * (`blueprint_risk_approved`: the approval accepts that risk). A no-op has no blueprint to judge.
 */
export const blueprintRisk: RiskEvaluator = {
  name: NAME,
  evaluate({ germination, packet }) {
    if (germination === undefined) return [];
    const { blueprint: bp, approved } = germination;
    const what = `blueprint ${bp.blueprintId} (${tierName(bp.tier)}, risk ${figure(bp.risk)})`;
    const out: RiskVerdict[] = [];
    if (bp.quarantineOnly) {
      out.push(verdict(NAME, "veto", "bp_quarantine", `${what} is quarantine-only`, true));
    }
    if (bp.risk >= BLUEPRINT_RISK_VETO) {
      out.push(
        verdict(NAME, "veto", "blueprint_risk_critical", `${what}: risk ≥ ${BLUEPRINT_RISK_VETO}`, true),
      );
    }
    if (bp.approvalRequired && !approved) {
      out.push(
        verdict(
          NAME,
          "veto",
          "blueprint_unapproved",
          `${what} requires approval and job ${packet.experimentName} does not approve it`,
        ),
      );
    }
    if (out.length === 0 && bp.risk >= BLUEPRINT_RISK_DOWNGRADE) {
      out.push(
        approved
          ? verdict(
              NAME,
              "annotate",
              "blueprint_risk_approved",
              `${what}: risk ≥ ${BLUEPRINT_RISK_DOWNGRADE}, approved by job ${packet.experimentName}`,
            )
          : verdict(NAME, "downgrade", "blueprint_risk", `${what}: risk ≥ ${BLUEPRINT_RISK_DOWNGRADE}`),
      );
    }
    return out;
  },
};
