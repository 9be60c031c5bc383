import { describe, expect, it } from "vitest";
import { type AlphaSchedule, alphaAt, blendComplete } from "./alpha-schedule.ts";

const reference: AlphaSchedule = { totalSteps: 20, temperature: 2 };

describe("alphaAt", () => {
  it("matches the reference formula at known points", () => {
    expect(alphaAt(0, reference)).toBeCloseTo(0.0066929, 6);
    expect(alphaAt(5, reference)).toBeCloseTo(0.0758582, 6);
    expect(alphaAt(10, reference)).toBe(0.5);
    expect(alphaAt(15, reference)).toBeCloseTo(0.9241418, 6);
    expect(alphaAt(20, reference)).toBeCloseTo(0.9933071, 6);
  });

  it("rises monotonically over the schedule and beyond", () => {
    let previous = -1;
    for (let step = 0; step <= 40; step++) {
      const alpha = alphaAt(step, reference);
      expect(alpha).toBeGreaterThan(previous);
      expect(alpha).toBeLessThanOrEqual(1);
      previous = alpha;
    }
  });

  it("ramps faster with a lower temperature", () => {
    expect(alphaAt(12, { totalSteps: 20, temperature: 1 })).toBeCloseTo(0.8807971, 6);
    expect(alphaAt(12, reference)).toBeCloseTo(0.7310586, 6);
  });

  it("blends fully at once when the total is 0 or less", () => {
    expect(alphaAt(0, { totalSteps: 0, temperature: 2 })).toBe(1);
    expect(alphaAt(3, { totalSteps: -5, temperature: 2 })).toBe(1);
  });

  it("rejects a negative or fractional step, a fractional total and a bad temperature", () => {
    expect(() => alphaAt(-1, reference)).toThrow(/step must be/);
    expect(() => alphaAt(1.5, reference)).toThrow(/step must be/);
    expect(() => alphaAt(1, { totalSteps: 2.5, temperature: 2 })).toThrow(/totalSteps/);
    expect(() => alphaAt(1, { totalSteps: 20, temperature: 0 })).toThrow(/temperature/);
    expect(() => alphaAt(1, { totalSteps: 20, temperature: Number.NaN })).toThrow(/temperature/);
  });
});

describe("blendComplete", () => {
  it("is true from the last step of the schedule on", () => {
    expect(blendComplete(19, reference)).toBe(false);
    expect(blendComplete(20, reference)).toBe(true);
    expect(blendComplete(0, { totalSteps: 0, temperature: 2 })).toBe(true);
  });
});
