import { describe, expect, it } from "vitest";
import { SeedLifecycleStage } from "../../../contracts/index.ts";
import { calmPacket, candidate, previousOf } from "../testing/risk-fixtures.ts";
import { createRiskEngine, downgraded } from "./risk-engine.ts";
import { initialRiskState, type RunRiskState } from "./risk-types.ts";

const engine = createRiskEngine({ inferenceBudgetMs: 12 });
const germination = candidate();
const after4: RunRiskState = { ...initialRiskState, previous: previousOf(calmPacket(4, 0.5)) };

describe("risk engine", () => {
  it("runs its evaluators in order: loss spike, latency budgets, timeouts, blueprint risk, seed health", () => {
    expect(engine.evaluators.map((e) => e.name)).toEqual([
      "loss-spike",
      "latency-budget",
      "timeouts",
      "blueprint-risk",
      "seed-health",
    ]);
  });

  it("passes a calm germination unchanged, scored by its blueprint's catalog risk, and remembers the packet", () => {
    const packet = calmPacket(5, 0.5);
    const a = engine.assess({ packet, germination, policyLatencyMs: 1, state: after4 });
    expect(a.germination).toBe(germination.action);
    expect(a.risk).toEqual({ score: 0.05, vetoes: [], downgrades: [], annotations: [], conservative: false });
    expect(a.state).toEqual({ conservative: false, calmPackets: 0, previous: previousOf(packet) });
    expect(a.transition).toBeUndefined();
  });

  it("vetoes with every veto finding, scores 1 and enters conservative mode on a critical one", () => {
    const seed = { ...germination.seed, stage: SeedLifecycleStage.TRAINING };
    const a = engine.assess({
      packet: calmPacket(5, 0.7),
      germination: { ...germination, seed },
      policyLatencyMs: 1,
      state: after4,
    });
    expect(a.germination).toBeUndefined();
    expect(a.risk.vetoes.map((v) => `${v.evaluator}/${v.reason}`)).toEqual([
      "loss-spike/loss_spike",
      "seed-health/seed_not_dormant",
    ]);
    expect(a.risk).toMatchObject({ score: 1, conservative: true });
    expect(a.transition).toBe("entered");
  });

  it("downgrades a germination once (twice the blend steps), however many downgrade findings", () => {
    const packet = calmPacket(5, 0.6);
    const a = engine.assess({
      packet,
      germination: { ...germination, seed: { ...germination.seed, riskScore: 0.6 } },
      policyLatencyMs: 1,
      state: after4,
    });
    expect(a.risk.downgrades.map((d) => d.reason)).toEqual(["loss_warning", "seed_risk_elevated"]);
    expect(a.germination?.blend.schedule.steps).toBe(40);
    expect(a.risk.score).toBe(0.5);
    const long = {
      ...germination.action,
      blend: {
        ...germination.action.blend,
        schedule: { ...germination.action.blend.schedule, steps: 900_000 },
      },
    };
    expect(downgraded(long).blend.schedule.steps).toBe(1_000_000);
  });

  it("on a no-op records every finding as an annotation (there is no command to act on) and still enters conservative mode", () => {
    const a = engine.assess({
      packet: calmPacket(5, 0.7),
      germination: undefined,
      policyLatencyMs: 1,
      state: after4,
    });
    expect(a.germination).toBeUndefined();
    expect(a.risk).toMatchObject({ score: 1, vetoes: [], downgrades: [], conservative: true });
    expect(a.risk.annotations.map((v) => v.reason)).toEqual(["loss_spike"]);
    expect(a.transition).toBe("entered");
  });

  it("vetoes every germination while conservative, until 3 calm packets end it; the third passes", () => {
    let state = after4;
    const outcomes: string[] = [];
    // Epoch 5 rises 0.2 over epoch 4 (a spike), then the loss holds at 0.7.
    for (let epoch = 5; epoch < 10; epoch++) {
      const a = engine.assess({ packet: calmPacket(epoch, 0.7), germination, policyLatencyMs: 1, state });
      state = a.state;
      const exited = a.transition === "exited" ? " (exited)" : "";
      outcomes.push(
        a.germination === undefined ? a.risk.vetoes.map((v) => v.reason).join("+") : `pass${exited}`,
      );
    }
    expect(outcomes).toEqual([
      "loss_spike",
      "conservative_mode",
      "conservative_mode",
      "pass (exited)",
      "pass",
    ]);
  });
});
