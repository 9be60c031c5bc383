import { describe, expect, it } from "vitest";
import { detectPlateau } from "./plateau.ts";

const rule = { epochs: 3, minRelativeImprovement: 0.01 };

describe("detectPlateau", () => {
  it("reports a plateau after k epochs without relative improvement greater than ε", () => {
    const s = detectPlateau([1.0, 0.995, 0.999, 0.992], rule);
    expect(s).toEqual({ plateaued: true, epochsWithoutImprovement: 3, best: 1.0, observed: 4 });
  });

  it("is not plateaued with only k − 1 stale epochs", () => {
    const s = detectPlateau([1.0, 0.995, 0.999], rule);
    expect(s.plateaued).toBe(false);
    expect(s.epochsWithoutImprovement).toBe(2);
  });

  it("a relative improvement greater than ε resets the count and becomes the best", () => {
    const s = detectPlateau([1.0, 0.995, 0.999, 0.98, 0.979], rule);
    expect(s).toEqual({ plateaued: false, epochsWithoutImprovement: 1, best: 0.98, observed: 5 });
  });

  it("an improvement of exactly ε does not count", () => {
    const s = detectPlateau([1, 0.75, 0.75, 0.75], { epochs: 3, minRelativeImprovement: 0.25 });
    expect(s.epochsWithoutImprovement).toBe(3);
  });

  it("measures improvement relative to |best| for negative losses", () => {
    const s = detectPlateau([-1.0, -1.02], { epochs: 1, minRelativeImprovement: 0.01 });
    expect(s.plateaued).toBe(false);
    expect(s.best).toBe(-1.02);
    expect(detectPlateau([-1.0, -0.995], { epochs: 1, minRelativeImprovement: 0.01 }).plateaued).toBe(true);
  });

  it("a rising loss counts as stale", () => {
    expect(detectPlateau([1, 2, 3], { epochs: 2, minRelativeImprovement: 0 }).plateaued).toBe(true);
  });

  it("an empty series is not plateaued and has no best", () => {
    expect(detectPlateau([], rule)).toEqual({
      plateaued: false,
      epochsWithoutImprovement: 0,
      best: undefined,
      observed: 0,
    });
  });

  it("rejects k < 1, negative ε and non-finite losses, naming the input", () => {
    expect(() => detectPlateau([1], { epochs: 0, minRelativeImprovement: 0 })).toThrow(/plateau epochs/);
    expect(() => detectPlateau([1], { epochs: 1, minRelativeImprovement: -0.1 })).toThrow(
      /minRelativeImprovement/,
    );
    expect(() => detectPlateau([1, Number.NaN], rule)).toThrow(/validation loss \[1\]/);
  });
});
