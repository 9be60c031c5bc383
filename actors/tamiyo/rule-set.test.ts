import { describe, expect, it } from "vitest";
import { BlendMode, BlendSchedule } from "../../contracts/index.ts";
import { checkRuleSet, RULE_SET_VERSION, type RuleSet, ruleSetIdentity } from "./rule-set.ts";

const rules: RuleSet = {
  plateau: { epochs: 3, minRelativeImprovement: 0.01 },
  blend: {
    mode: BlendMode.RESIDUAL,
    schedule: { shape: BlendSchedule.LINEAR, steps: 100, start: 0, end: 1 },
  },
};

describe("rule set", () => {
  it("accepts a complete rule set", () => {
    expect(checkRuleSet(rules)).toBe(rules);
  });

  it("rejects each bad field with an error naming it", () => {
    const bad: [RuleSet, RegExp][] = [
      [{ ...rules, plateau: { epochs: 0, minRelativeImprovement: 0.01 } }, /plateau\.epochs/],
      [{ ...rules, plateau: { epochs: 2, minRelativeImprovement: 1 } }, /plateau\.minRelativeImprovement/],
      [{ ...rules, blend: { ...rules.blend, mode: BlendMode.CHANNEL as never } }, /blend\.mode/],
      [
        { ...rules, blend: { ...rules.blend, schedule: { ...rules.blend.schedule, steps: 0 } } },
        /blend\.schedule\.steps/,
      ],
      [{ ...rules, blend: { ...rules.blend, mode: BlendMode.CONFIDENCE } }, /blend\.confidence .*CONFIDENCE/],
      [
        { ...rules, blend: { ...rules.blend, confidence: { k: 1, tau: 0.1, alphaLo: 0, alphaHi: 1 } } },
        /blend\.confidence must be absent/,
      ],
    ];
    for (const [r, message] of bad) expect(() => checkRuleSet(r)).toThrow(message);
  });

  it("accepts CONFIDENCE with its gate", () => {
    const gate = { k: 4, tau: 0.2, alphaLo: 0, alphaHi: 1 };
    expect(() =>
      checkRuleSet({ ...rules, blend: { ...rules.blend, mode: BlendMode.CONFIDENCE, confidence: gate } }),
    ).not.toThrow();
  });

  it("identifies the rule set by version and a digest that follows every parameter, not key order", () => {
    const id = ruleSetIdentity(rules);
    expect(id.version).toBe(RULE_SET_VERSION);
    expect(id.digest).toMatch(/^[0-9a-f]{64}$/);
    const reordered: RuleSet = { blend: rules.blend, plateau: { minRelativeImprovement: 0.01, epochs: 3 } };
    expect(ruleSetIdentity(reordered).digest).toBe(id.digest);
    expect(
      ruleSetIdentity({ ...rules, plateau: { epochs: 4, minRelativeImprovement: 0.01 } }).digest,
    ).not.toBe(id.digest);
    const slower = { ...rules.blend, schedule: { ...rules.blend.schedule, steps: 101 } };
    expect(ruleSetIdentity({ ...rules, blend: slower }).digest).not.toBe(id.digest);
  });
});
