import { describe, expect, it } from "vitest";
import { BlendMode, BlendSchedule } from "../../contracts/enums.ts";
import { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import { alphaAt } from "./alpha-schedule.ts";
import { type BlendRequest, blendStats, confidenceGate, effectiveAlpha, validateBlend } from "./blending.ts";

const schedule = { shape: BlendSchedule.TANH, steps: 20, start: 0, end: 1 };
const gate = { k: 4, tau: 0.2, alphaLo: 0, alphaHi: 1 };
const logits = new Float32Array([2, 0.5, 0.1]);
const WIDTH = 4;

describe("validateBlend: the blend validation table", () => {
  const valid: [string, BlendRequest][] = [
    ["residual", { blendMode: BlendMode.RESIDUAL, schedule }],
    ["convex with alpha", { blendMode: BlendMode.CONVEX, alpha: 0.5, schedule }],
    [
      "channel, one α per channel",
      { blendMode: BlendMode.CHANNEL, alphaVector: new Float32Array([0, 0.5, 1, 1]), schedule },
    ],
    [
      "confidence with logits",
      { blendMode: BlendMode.CONFIDENCE, confidence: { ...gate, logits }, schedule },
    ],
  ];
  it.each(valid)("accepts %s", (_what, req) => {
    expect(validateBlend(req, WIDTH)).toBeUndefined();
  });

  const refused: [string, BlendRequest, string, string][] = [
    ["no mode", { schedule }, "missing_field", "payload.blendMode is required for GERMINATE"],
    [
      "mode UNSPECIFIED",
      { blendMode: BlendMode.UNSPECIFIED, schedule },
      "unknown_blend_mode",
      "payload.blendMode 0 is not residual, convex, channel or confidence",
    ],
    [
      "mode 9",
      { blendMode: 9, schedule },
      "unknown_blend_mode",
      "payload.blendMode 9 is not residual, convex, channel or confidence",
    ],
    [
      "no schedule",
      { blendMode: BlendMode.CONVEX },
      "missing_field",
      "payload.schedule is required for GERMINATE",
    ],
    [
      "alpha above 1",
      { blendMode: BlendMode.CONVEX, alpha: 1.5, schedule },
      "alpha_out_of_bounds",
      "payload.alpha 1.5 is outside [0, 1]",
    ],
    [
      "a schedule going down",
      { blendMode: BlendMode.CONVEX, schedule: { ...schedule, start: 0.8, end: 0.2 } },
      "alpha_out_of_bounds",
      "payload.schedule goes from 0.8 to 0.2: both must lie in [0, 1], start <= end",
    ],
    [
      "channel without a vector",
      { blendMode: BlendMode.CHANNEL, schedule },
      "missing_field",
      "payload.alphaVector is required for the channel blend mode",
    ],
    [
      "a vector shorter than the slot",
      { blendMode: BlendMode.CHANNEL, alphaVector: new Float32Array([1, 1, 1]), schedule },
      "alpha_vector_length",
      "payload.alphaVector has 3 entries, the slot has width 4",
    ],
    [
      "a vector entry above 1",
      { blendMode: BlendMode.CHANNEL, alphaVector: new Float32Array([0, 1, 2, 0]), schedule },
      "alpha_out_of_bounds",
      "payload.alphaVector[2] 2 is outside [0, 1]",
    ],
    [
      "confidence without its gate",
      { blendMode: BlendMode.CONFIDENCE, schedule },
      "missing_field",
      "payload.confidence is required for the confidence blend mode",
    ],
    [
      "confidence without logits",
      { blendMode: BlendMode.CONFIDENCE, confidence: gate, schedule },
      "confidence_gate_missing_logits",
      "payload.confidence.logits has 0 entries: the confidence gate needs the controller's logits (at least 2)",
    ],
    [
      "confidence with one logit",
      { blendMode: BlendMode.CONFIDENCE, confidence: { ...gate, logits: new Float32Array([3]) }, schedule },
      "confidence_gate_missing_logits",
      "payload.confidence.logits has 1 entries: the confidence gate needs the controller's logits (at least 2)",
    ],
    [
      "confidence bounds inverted",
      {
        blendMode: BlendMode.CONFIDENCE,
        confidence: { ...gate, logits, alphaLo: 0.9, alphaHi: 0.1 },
        schedule,
      },
      "alpha_out_of_bounds",
      "payload.confidence.alphaLo 0.9 > alphaHi 0.1",
    ],
  ];
  it.each(refused)("refuses %s", (_what, req, reason, detail) => {
    expect(validateBlend(req, WIDTH)).toEqual({ reason, detail });
  });
});

describe("effectiveAlpha and blendStats", () => {
  it("residual and convex use the base α on every channel", () => {
    expect([...effectiveAlpha({ blendMode: BlendMode.RESIDUAL }, 0.3, 3)]).toEqual([0.3, 0.3, 0.3]);
    expect(blendStats({ blendMode: BlendMode.CONVEX }, 0.3, 3)).toEqual({
      mode: "convex",
      alphaMean: 0.3,
      alphaP95: 0.3,
      sparsity: 0,
    });
  });

  it("channel multiplies the vector by the base α, clamped to [0, 1]", () => {
    const shape = { blendMode: BlendMode.CHANNEL, alphaVector: new Float32Array([0, 0.5, 1, 1]) };
    expect([...effectiveAlpha(shape, 0.5, 4)]).toEqual([0, 0.25, 0.5, 0.5]);
    expect(blendStats(shape, 0.5, 4)).toEqual({
      mode: "channel",
      alphaMean: 0.3125,
      alphaP95: 0.5,
      sparsity: 0.25,
    });
  });

  it("confidence gates the base α with sigmoid(k·(top1 − top2 − tau)), clamped to [alphaLo, alphaHi]", () => {
    const g = confidenceGate({ ...gate, logits });
    expect(g).toBeCloseTo(1 / (1 + Math.exp(-4 * (2 - 0.5 - 0.2))), 6);
    expect(
      effectiveAlpha({ blendMode: BlendMode.CONFIDENCE, confidence: { ...gate, logits } }, 1, 2)[0],
    ).toBeCloseTo(g, 6);
    const capped = { blendMode: BlendMode.CONFIDENCE, confidence: { ...gate, logits, alphaHi: 0.5 } };
    expect([...effectiveAlpha(capped, 1, 2)]).toEqual([0.5, 0.5]);
    expect(() => confidenceGate(gate)).toThrow(/at least 2 logits/);
  });

  it("refuses an unknown mode (never convex)", () => {
    expect(() => effectiveAlpha({ blendMode: BlendMode.UNSPECIFIED }, 0.5, 2)).toThrow(/blend mode 0/);
  });
});

describe("the α schedule of the reference", () => {
  it("is the settings' default: 20 steps, temperature 2", () => {
    expect(WorkerSettings.parse({}).seeds).toMatchObject({ blendSteps: 20, blendTemperature: 2 });
  });

  it("runs 20 steps at temperature 2: 0.5 at step 10, symmetric around it", () => {
    const s = { totalSteps: 20, temperature: 2 };
    expect(alphaAt(10, s)).toBeCloseTo(0.5, 12);
    expect(alphaAt(0, s)).toBeCloseTo(0.5 * (1 + Math.tanh(-2.5)), 12);
    expect(alphaAt(20, s) + alphaAt(0, s)).toBeCloseTo(1, 12);
  });
});
