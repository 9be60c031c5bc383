import { describe, expect, it } from "vitest";
import { pairedRounds, ratioSpread, roundOrder, type Side } from "./paired.ts";

describe("pairedRounds", () => {
  it("swaps bus and raw every round, runs rawBytes last and keeps only the rounds after the warm-up", async () => {
    const calls: string[] = [];
    let n = 0;
    const got = await pairedRounds(3, 1, async (side: Side) => {
      calls.push(side);
      return n++;
    });
    expect(calls).toEqual([
      ...["raw", "bus", "rawBytes"],
      ...["bus", "raw", "rawBytes"],
      ...["raw", "bus", "rawBytes"],
      ...["bus", "raw", "rawBytes"],
    ]);
    expect(got).toEqual({ bus: [3, 7, 9], raw: [4, 6, 10], rawBytes: [5, 8, 11] });
    expect(roundOrder(0)[0]).toBe("bus");
    expect(roundOrder(1)[0]).toBe("raw");
  });
});

describe("ratioSpread", () => {
  it("gives the median, quartiles and range of the rounds and keeps them in round order", () => {
    expect(ratioSpread([1.3, 0.9, 1.0, 1.1, 1.05])).toEqual({
      median: 1.05,
      p25: 1,
      p75: 1.1,
      min: 0.9,
      max: 1.3,
      rounds: [1.3, 0.9, 1, 1.1, 1.05],
    });
    expect(ratioSpread([1, 2]).median).toBe(1.5);
    expect(() => ratioSpread([])).toThrow(/no rounds/);
  });
});
