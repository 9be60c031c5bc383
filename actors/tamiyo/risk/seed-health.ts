import { SeedLifecycleStage } from "../../../contracts/index.ts";
import { figure } from "./figures.ts";
import { type RiskEvaluator, type RiskVerdict, verdict } from "./risk-types.ts";
import { SEED_RISK_DOWNGRADE, SEED_RISK_VETO } from "./thresholds.ts";

const NAME = "seed-health";

const stageName = (stage: number): string =>
  Object.entries(SeedLifecycleStage).find(([, code]) => code === stage)?.[0] ?? `stage ${stage}`;

/**
 * The target seed of a germination as the packet reports it: a seed that is not DORMANT vetoes
 * (`seed_not_dormant`: its slot is taken); its `riskScore` ≥ `SEED_RISK_VETO` vetoes
 * (`seed_risk_high`), ≥ `SEED_RISK_DOWNGRADE` downgrades (`seed_risk_elevated`). A no-op has no target.
 */
export const seedHealth: RiskEvaluator = {
  name: NAME,
  evaluate({ germination }) {
    if (germination === undefined) return [];
    const { seed } = germination;
    const out: RiskVerdict[] = [];
    if (seed.stage !== SeedLifecycleStage.DORMANT) {
      out.push(
        verdict(
          NAME,
          "veto",
          "seed_not_dormant",
          `seed ${seed.seedId} in slot ${seed.slotId} is ${stageName(seed.stage)}, not DORMANT`,
        ),
      );
    }
    const risk = `seed ${seed.seedId} risk score ${figure(seed.riskScore)}`;
    if (seed.riskScore >= SEED_RISK_VETO)
      out.push(verdict(NAME, "veto", "seed_risk_high", `${risk} ≥ ${SEED_RISK_VETO}`));
    else if (seed.riskScore >= SEED_RISK_DOWNGRADE)
      out.push(verdict(NAME, "downgrade", "seed_risk_elevated", `${risk} ≥ ${SEED_RISK_DOWNGRADE}`));
    return out;
  },
};
