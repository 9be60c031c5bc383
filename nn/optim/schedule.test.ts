import { describe, expect, it } from "vitest";
import { constantLr, cosineLr, linearWarmup, stepLr } from "./schedule.ts";

describe("learning-rate schedules", () => {
  it("constant", () => {
    expect(constantLr(0.1)(0)).toBe(0.1);
    expect(constantLr(0.1)(1000)).toBe(0.1);
  });

  it("step decay", () => {
    const s = stepLr({ base: 1, stepSize: 10, gamma: 0.5 });
    expect([0, 9, 10, 19, 20, 35].map(s)).toEqual([1, 1, 0.5, 0.5, 0.25, 0.125]);
  });

  it("cosine from base to min, then flat", () => {
    const s = cosineLr({ base: 1, totalSteps: 100, min: 0.1 });
    expect(s(0)).toBe(1);
    expect(s(50)).toBeCloseTo(0.55, 12);
    expect(s(100)).toBeCloseTo(0.1, 12);
    expect(s(500)).toBeCloseTo(0.1, 12);
    expect(s(25)).toBeCloseTo(0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI / 4)), 12);
  });

  it("linear warmup composes with any schedule and starts it after warmup", () => {
    const s = linearWarmup(stepLr({ base: 1, stepSize: 10, gamma: 0.5 }), { steps: 4, floor: 0.1 });
    expect([0, 1, 2, 3].map(s)).toEqual([0.25, 0.5, 0.75, 1]);
    expect(s(4)).toBe(1);
    expect(s(14)).toBe(0.5);
    const floored = linearWarmup(constantLr(2), { steps: 20, floor: 0.1 });
    expect(floored(0)).toBeCloseTo(0.2, 12);
    expect(floored(4)).toBeCloseTo(0.5, 12);
  });

  it("rejects bad options and steps, naming the field", () => {
    expect(() => stepLr({ base: 1, stepSize: 0, gamma: 0.5 })).toThrow(
      "stepLr.stepSize must be an integer > 0",
    );
    expect(() => cosineLr({ base: Number.NaN, totalSteps: 10, min: 0 })).toThrow("cosineLr.base");
    expect(() => linearWarmup(constantLr(1), { steps: 5, floor: 2 })).toThrow("linearWarmup.floor");
    expect(() => constantLr(1)(-1)).toThrow("schedule step must be an integer >= 0");
  });
});
