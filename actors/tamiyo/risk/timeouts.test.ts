import { describe, expect, it } from "vitest";
import { riskContext } from "../testing/risk-fixtures.ts";
import { timeouts } from "./timeouts.ts";

describe("timeouts evaluator", () => {
  it("vetoes a policy slower than the inference budget as critical timeout_inference", () => {
    expect(timeouts(12).evaluate(riskContext({ policyLatencyMs: 12.5 }))).toEqual([
      {
        evaluator: "timeouts",
        effect: "veto",
        reason: "timeout_inference",
        detail: "the policy took 12.5 ms, over the 12 ms inference budget",
        critical: true,
      },
    ]);
  });

  it("passes a policy within the budget (the budget itself included)", () => {
    expect(timeouts(12).evaluate(riskContext({ policyLatencyMs: 12 }))).toEqual([]);
    expect(timeouts(20).evaluate(riskContext({ policyLatencyMs: 12.5 }))).toEqual([]);
  });
});
