import { describe, expect, it } from "vitest";
import { calmPacket, previousOf, riskContext } from "../testing/risk-fixtures.ts";
import { lossSpike } from "./loss-spike.ts";

const judgeRise = (loss: number, previousLoss = 0.5, previousEpoch = 4) =>
  lossSpike.evaluate(
    riskContext({
      packet: calmPacket(5, loss),
      previous: previousOf(calmPacket(previousEpoch, previousLoss)),
    }),
  );

describe("loss-spike evaluator", () => {
  it("vetoes a validation-loss rise above 0.15 over one epoch as critical loss_spike", () => {
    expect(judgeRise(0.66)).toEqual([
      {
        evaluator: "loss-spike",
        effect: "veto",
        reason: "loss_spike",
        detail: "validation loss rose 0.16 (0.5 → 0.66) in epoch 5, above 0.15",
        critical: true,
      },
    ]);
  });

  it("downgrades a rise above 0.075 as loss_warning, and says nothing of a smaller rise or a fall", () => {
    expect(judgeRise(0.6)).toMatchObject([{ effect: "downgrade", reason: "loss_warning", critical: false }]);
    expect(judgeRise(0.57)).toEqual([]);
    expect(judgeRise(0.2)).toEqual([]);
  });

  it("judges only a one-epoch delta: no verdict after a gap, a redelivery or the first packet", () => {
    expect(judgeRise(0.9, 0.5, 3)).toEqual([]);
    expect(judgeRise(0.9, 0.5, 5)).toEqual([]);
    expect(lossSpike.evaluate(riskContext({ packet: calmPacket(5, 0.9), previous: undefined }))).toEqual([]);
  });

  it("downgrades a training-loss volatility above 0.1125", () => {
    const p = calmPacket(5, 0.5);
    const volatile = { ...p, trainingMetrics: { ...p.trainingMetrics, lossVolatility: 0.2 } };
    expect(lossSpike.evaluate(riskContext({ packet: volatile }))).toMatchObject([
      {
        effect: "downgrade",
        reason: "loss_volatility_high",
        detail: expect.stringMatching(/0\.2 is above 0\.1125/),
      },
    ]);
  });
});
