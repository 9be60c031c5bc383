import { describe, expect, it } from "vitest";
import { BlendSchedule } from "../../contracts/enums.ts";
import { scheduledAlpha } from "./blend-schedule.ts";

describe("scheduledAlpha", () => {
  it("LINEAR ramps from start to end over the steps and holds end afterwards", () => {
    const spec = { shape: BlendSchedule.LINEAR, steps: 4, start: 0.2, end: 1 };
    expect([1, 2, 3, 4, 9].map((s) => scheduledAlpha(spec, s))).toEqual([0.4, 0.6000000000000001, 0.8, 1, 1]);
  });

  it("COSINE is half-way at half the steps; TANH follows the reference ramp", () => {
    expect(scheduledAlpha({ shape: BlendSchedule.COSINE, steps: 10, start: 0, end: 1 }, 5)).toBeCloseTo(
      0.5,
      12,
    );
    expect(scheduledAlpha({ shape: BlendSchedule.COSINE, steps: 10, start: 0, end: 1 }, 2)).toBeCloseTo(
      (1 - Math.cos(Math.PI * 0.2)) / 2,
      12,
    );
    // Kasmina reference: 0.5·(1 + tanh(0.5·(step − 10)/2)) over 20 steps.
    expect(scheduledAlpha({ shape: BlendSchedule.TANH, steps: 20, start: 0, end: 1 }, 14)).toBeCloseTo(
      0.5 * (1 + Math.tanh(1)),
      12,
    );
  });

  it("a shape without a ramp, or a step below 1, throws", () => {
    expect(() => scheduledAlpha({ shape: BlendSchedule.WARMUP_HOLD, steps: 4, start: 0, end: 1 }, 1)).toThrow(
      /shape 4 has no α ramp/,
    );
    expect(() => scheduledAlpha({ shape: BlendSchedule.LINEAR, steps: 4, start: 0, end: 1 }, 0)).toThrow(
      RangeError,
    );
  });
});
