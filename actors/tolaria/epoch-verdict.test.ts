import { describe, expect, it } from "vitest";
import { judgeEpoch } from "./epoch-verdict.ts";
import type { EpochFigures } from "./state-packet.ts";

const figures = (loss: number, lossDelta: number): EpochFigures => ({
  epoch: 5,
  globalStep: 240,
  loss,
  accuracy: 0.6,
  gradientNorm: 1,
  lossDelta,
  lossEwma: loss,
  lossVolatility: 0,
  gradNormEwma: 1,
  samples: 1280,
  durationMs: 50,
  stepLatencyMs: 1,
  kasminaLatencyMs: 0,
  gradConflictRate: 0,
});

describe("judgeEpoch", () => {
  it("fails an epoch whose loss rose by more than lossSpikeDelta (loss_spike, naming the figures); not at or below it", () => {
    expect(judgeEpoch(figures(0.9, 0.2), 0.15)).toEqual({
      failed: true,
      reason: "loss_spike",
      detail: "epoch 5 loss 0.9 is 0.2 above the previous epoch's (tolaria.lossSpikeDelta 0.15)",
    });
    expect(judgeEpoch(figures(0.85, 0.15), 0.15)).toEqual({ failed: false });
    expect(judgeEpoch(figures(0.5, -0.4), 0.15)).toEqual({ failed: false });
  });
});
