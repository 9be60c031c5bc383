import { describe, expect, it } from "vitest";
import { createRng } from "../rng.ts";
import { type Contribution, cosine, pcgrad } from "./pcgrad.ts";

/** Reference PCGrad on number arrays: per contribution, project against others in the given orders. */
function referencePcgrad(
  grads: number[][],
  weights: number[],
  orders: number[][],
): { grad: number[]; conflicts: number[] } {
  const dotp = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * (b[i] ?? 0), 0);
  const projected = grads.map((g, i) => {
    const p = [...g];
    let conflicts = 0;
    for (const j of orders[i] ?? []) {
      const o = grads[j] ?? [];
      const nn = dotp(o, o);
      if (nn < 1e-24) continue;
      const d = dotp(p, o);
      if (d < 0) {
        conflicts++;
        for (let k = 0; k < p.length; k++) p[k] = (p[k] ?? 0) - (d / nn) * (o[k] ?? 0);
      }
    }
    return { p, conflicts };
  });
  const wsum = weights.reduce((a, b) => a + b, 0);
  const grad = (grads[0] ?? []).map((_, k) =>
    projected.reduce((s, { p }, i) => s + ((weights[i] ?? 0) / wsum) * (p[k] ?? 0), 0),
  );
  return { grad, conflicts: projected.map((x) => x.conflicts) };
}

/** The orders `pcgrad` draws from a fresh rng with `seed`, for `n` contributions. */
function ordersFor(seed: number, n: number): number[][] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const order = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i);
    rng.shuffle(order);
    return order;
  });
}

const contributions = (grads: number[][], weights: number[]): Contribution[] =>
  grads.map((g, i) => ({ id: `c${i}`, grad: Float64Array.from(g), weight: weights[i] ?? 1 }));

describe("pcgrad", () => {
  it("matches the reference on random conflicting gradients (conflicts, ratios, weighted mean)", () => {
    const r = createRng(7);
    for (let trial = 0; trial < 20; trial++) {
      const n = 2 + r.int(4);
      const grads = Array.from({ length: n }, () => Array.from({ length: 6 }, () => r.normal()));
      const weights = Array.from({ length: n }, () => 0.1 + r.next());
      const got = pcgrad(contributions(grads, weights), createRng(trial));
      const want = referencePcgrad(grads, weights, ordersFor(trial, n));
      for (let k = 0; k < 6; k++) expect(got.grad[k]).toBeCloseTo(want.grad[k] ?? Number.NaN, 12);
      expect(got.outcomes.map((o) => o.conflicts)).toEqual(want.conflicts);
      expect(got.outcomes.map((o) => o.conflictRatio)).toEqual(want.conflicts.map((c) => c / (n - 1)));
      const total = want.conflicts.reduce((a, b) => a + b, 0);
      expect(got.conflicts).toBe(total);
      expect(got.conflictRatio).toBeCloseTo(total / (n * (n - 1)), 15);
    }
  });

  it("projects away the conflicting component: two opposed gradients", () => {
    const got = pcgrad(
      contributions(
        [
          [1, 0],
          [-1, 1],
        ],
        [1, 1],
      ),
      createRng(1),
    );
    // g0' = g0 − (−1/2)·g1 = (0.5, 0.5); g1' = g1 − (−1/1)·g0 = (0, 1); mean = (0.25, 0.75).
    expect(Array.from(got.grad)).toEqual([0.25, 0.75]);
    expect(got.outcomes.map((o) => o.conflicts)).toEqual([1, 1]);
    expect(got.outcomes.map((o) => o.conflictRatio)).toEqual([1, 1]);
  });

  it("weights the aggregation", () => {
    const got = pcgrad(
      contributions(
        [
          [1, 0],
          [0, 1],
        ],
        [3, 1],
      ),
      createRng(1),
    );
    expect(Array.from(got.grad)).toEqual([0.75, 0.25]);
    expect(got.conflicts).toBe(0);
  });

  it("zero vectors neither project nor are projected onto; a single contribution is its own mean", () => {
    const got = pcgrad(
      contributions(
        [
          [0, 0],
          [1, -2],
        ],
        [1, 1],
      ),
      createRng(3),
    );
    expect(Array.from(got.grad)).toEqual([0.5, -1]);
    expect(got.conflicts).toBe(0);
    expect(got.outcomes.map((o) => o.norm)).toEqual([0, Math.sqrt(5)]);
    const one = pcgrad(contributions([[2, 3]], [1]), createRng(3));
    expect(Array.from(one.grad)).toEqual([2, 3]);
    expect(one.conflictRatio).toBe(0);
  });

  it("refuses nothing to aggregate, zero total weight, bad weights and mismatched lengths", () => {
    expect(() => pcgrad([], createRng(1))).toThrow(/no contribution/);
    expect(() => pcgrad(contributions([[1], [2]], [0, 0]), createRng(1))).toThrow(/weight 0/);
    expect(() => pcgrad(contributions([[1]], [-1]), createRng(1))).toThrow(/'c0' has weight -1/);
    expect(() => pcgrad(contributions([[1], [1, 2]], [1, 1]), createRng(1))).toThrow(
      /'c1' has 2 values, expected 1/,
    );
  });

  it("cosine is 0 on a zero vector and clamped to [−1, 1]", () => {
    expect(cosine([0, 0], [1, 1])).toBe(0);
    expect(cosine([1, 2], [2, 4])).toBeCloseTo(1, 15);
    expect(cosine([1, 0], [-3, 0])).toBe(-1);
  });
});
