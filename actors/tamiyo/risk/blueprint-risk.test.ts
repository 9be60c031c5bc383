import { describe, expect, it } from "vitest";
import { BlueprintTier } from "../../../contracts/index.ts";
import { candidate, riskContext } from "../testing/risk-fixtures.ts";
import { blueprintRisk } from "./blueprint-risk.ts";

const base = candidate();
const judge = (bp: Partial<typeof base.blueprint>, approved = false) =>
  blueprintRisk.evaluate(
    riskContext({ germination: { ...base, blueprint: { ...base.blueprint, ...bp }, approved } }),
  );
const reasons = (bp: Partial<typeof base.blueprint>, approved = false) =>
  judge(bp, approved).map((v) => `${v.effect}:${v.reason}${v.critical ? ":critical" : ""}`);

describe("blueprint-risk evaluator", () => {
  it("passes a low-risk SAFE blueprint and has nothing to judge on a no-op", () => {
    expect(judge({})).toEqual([]);
    expect(blueprintRisk.evaluate(riskContext())).toEqual([]);
  });

  it("vetoes a quarantine-only blueprint as critical bp_quarantine", () => {
    expect(reasons({ quarantineOnly: true })).toEqual(["veto:bp_quarantine:critical"]);
    expect(judge({ quarantineOnly: true })[0]?.detail).toMatch(
      /low-rank-linear-i8-h2-s1 \(SAFE, risk 0\.05\) is quarantine-only/,
    );
  });

  it("vetoes a risk of 0.8 or more as critical, even when approved", () => {
    expect(reasons({ risk: 0.8 }, true)).toEqual(["veto:blueprint_risk_critical:critical"]);
    expect(reasons({ risk: 0.79 }, true)).toEqual(["annotate:blueprint_risk_approved"]);
  });

  it("vetoes a blueprint that requires approval the job did not give", () => {
    const highRisk = { tier: BlueprintTier.HIGH_RISK, approvalRequired: true, risk: 0.6 };
    expect(reasons(highRisk)).toEqual(["veto:blueprint_unapproved"]);
    expect(reasons(highRisk, true)).toEqual(["annotate:blueprint_risk_approved"]);
  });

  it("downgrades an unapproved blueprint of risk 0.5 or more", () => {
    expect(reasons({ risk: 0.5 })).toEqual(["downgrade:blueprint_risk"]);
    expect(reasons({ risk: 0.49 })).toEqual([]);
  });
});
