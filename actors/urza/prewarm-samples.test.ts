import { describe, expect, it } from "vitest";
import { PrewarmSamples, percentile } from "./prewarm-samples.ts";

describe("percentile", () => {
  it("interpolates linearly between ranks", () => {
    expect(percentile([10, 20, 30, 40], 0.5)).toBe(25);
    expect(percentile([10, 20, 30, 40], 0.95)).toBeCloseTo(38.5, 10);
    expect(percentile([7], 0.95)).toBe(7);
    expect(percentile([1, 2, 3], 0)).toBe(1);
    expect(percentile([1, 2, 3], 1)).toBe(3);
  });

  it("refuses no samples and p outside [0, 1]", () => {
    expect(() => percentile([], 0.5)).toThrow(/no samples/);
    expect(() => percentile([1], 1.5)).toThrow(/\[0, 1\]/);
  });
});

describe("PrewarmSamples", () => {
  it("keeps the last `capacity` samples per blueprint", () => {
    const s = new PrewarmSamples(3);
    for (const ms of [100, 1, 2, 3]) s.record("a", ms);
    s.record("b", 50);
    expect(s.percentiles("a")).toEqual({ p50Ms: 2, p95Ms: 2.9 });
    expect(s.percentiles("b")).toEqual({ p50Ms: 50, p95Ms: 50 });
  });

  it("throws for a blueprint without samples and refuses invalid latencies", () => {
    const s = new PrewarmSamples(3);
    expect(() => s.percentiles("x")).toThrow("no prewarm samples recorded for blueprint x");
    expect(() => s.record("x", Number.NaN)).toThrow(/finite/);
    expect(() => s.record("x", -1)).toThrow(/>= 0/);
    expect(() => new PrewarmSamples(0)).toThrow(/positive integer/);
  });
});
