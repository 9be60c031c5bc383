import { describe, expect, it } from "vitest";
import { SeedLifecycleStage } from "../../../contracts/index.ts";
import { candidate, riskContext } from "../testing/risk-fixtures.ts";
import { seedHealth } from "./seed-health.ts";

const base = candidate();
const judge = (seed: Partial<typeof base.seed>) =>
  seedHealth.evaluate(riskContext({ germination: { ...base, seed: { ...base.seed, ...seed } } }));

describe("seed-health evaluator", () => {
  it("passes a DORMANT target seed with a low risk score and has nothing to judge on a no-op", () => {
    expect(judge({})).toEqual([]);
    expect(seedHealth.evaluate(riskContext())).toEqual([]);
  });

  it("vetoes a target seed that is not DORMANT, naming its stage", () => {
    expect(judge({ stage: SeedLifecycleStage.TRAINING })).toEqual([
      {
        evaluator: "seed-health",
        effect: "veto",
        reason: "seed_not_dormant",
        detail: "seed seed-a in slot slot-seed-a is TRAINING, not DORMANT",
        critical: false,
      },
    ]);
  });

  it("vetoes a seed risk score of 0.8 or more and downgrades one of 0.5 or more", () => {
    expect(judge({ riskScore: 0.8 }).map((v) => `${v.effect}:${v.reason}`)).toEqual(["veto:seed_risk_high"]);
    expect(judge({ riskScore: 0.5 }).map((v) => `${v.effect}:${v.reason}`)).toEqual([
      "downgrade:seed_risk_elevated",
    ]);
    expect(judge({ riskScore: 0.49 })).toEqual([]);
  });
});
