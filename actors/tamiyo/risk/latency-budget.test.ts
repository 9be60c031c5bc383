import { describe, expect, it } from "vitest";
import type { SystemStatePacket } from "../../../contracts/index.ts";
import { calmPacket, riskContext } from "../testing/risk-fixtures.ts";
import { latencyBudget } from "./latency-budget.ts";

const withMetrics = (p: SystemStatePacket, m: Partial<SystemStatePacket["trainingMetrics"]>) => ({
  ...p,
  trainingMetrics: { ...p.trainingMetrics, ...m },
});
const judge = (m: Partial<SystemStatePacket["trainingMetrics"]>) =>
  latencyBudget.evaluate(riskContext({ packet: withMetrics(calmPacket(5, 0.5), m) }));

describe("latency-budget evaluator", () => {
  it("vetoes an epoch whose mean step exceeds 120 ms (epoch duration over the steps since the previous packet)", () => {
    expect(judge({ epochDurationMs: 40 * 121 })).toEqual([
      {
        evaluator: "latency-budget",
        effect: "veto",
        reason: "step_latency_high",
        detail: "mean step 121 ms over 40 steps of epoch 5 exceeds the 120 ms budget",
        critical: false,
      },
    ]);
    expect(judge({ epochDurationMs: 40 * 120 })).toEqual([]);
  });

  it("does not judge the step latency without the previous epoch's packet", () => {
    const p = withMetrics(calmPacket(5, 0.5), { epochDurationMs: 1e6 });
    expect(latencyBudget.evaluate(riskContext({ packet: p, previous: undefined }))).toEqual([]);
  });

  it("vetoes a hook latency above 50 ms as hook_budget", () => {
    expect(judge({ extra: { hookLatencyMs: 51 } })).toMatchObject([
      { effect: "veto", reason: "hook_budget" },
    ]);
    expect(judge({ extra: { hookLatencyMs: 50 } })).toEqual([]);
  });

  it("annotates a packet without a hook latency: the budget was not checked", () => {
    expect(judge({ extra: {} })).toMatchObject([
      {
        effect: "annotate",
        reason: "hook_latency_unmeasured",
        detail: expect.stringMatching(/hookLatencyMs/),
      },
    ]);
  });
});
