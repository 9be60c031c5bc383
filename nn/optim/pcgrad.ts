/**
 * PCGrad (gradient surgery, Yu et al. 2020) over per-contribution gradients of shared parameters, and
 * the vector measures Tolaria reports with it. Arithmetic is in float64.
 */
import type { Rng } from "../rng.ts";

/** Norms below this count as zero: a zero vector projects nothing and nothing projects onto it. */
export const PCGRAD_EPSILON = 1e-12;

/** One contribution: its gradient over the shared parameters (flattened, same layout for all) and weight. */
export interface Contribution {
  readonly id: string;
  readonly grad: Float32Array | Float64Array;
  /** Aggregation weight, finite and ≥ 0. */
  readonly weight: number;
}

/** What PCGrad did to one contribution. */
export interface ContributionOutcome {
  readonly id: string;
  /** Other contributions it conflicted with (negative dot product) and was projected against. */
  readonly conflicts: number;
  /** conflicts / max(1, n − 1). */
  readonly conflictRatio: number;
  /** ‖g‖ before projection. */
  readonly norm: number;
}

/** The aggregated gradient and the per-contribution outcomes. */
export interface PcgradResult {
  /** Σ wᵢ·gᵢ' / Σ wᵢ over the projected gradients gᵢ'. */
  readonly grad: Float64Array;
  readonly outcomes: readonly ContributionOutcome[];
  /** Total projections made (Σ conflicts). */
  readonly conflicts: number;
  /** conflicts / (n · max(1, n − 1)): the fraction of ordered pairs that conflicted. */
  readonly conflictRatio: number;
}

/** Dot product in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`dot: lengths differ (${a.length} vs ${b.length})`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** L2 norm in float64. */
export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/** Cosine of the angle between `a` and `b`; 0 when either norm is below `PCGRAD_EPSILON`. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = norm(a);
  const nb = norm(b);
  if (na < PCGRAD_EPSILON || nb < PCGRAD_EPSILON) return 0;
  return Math.max(-1, Math.min(1, dot(a, b) / (na * nb)));
}

/**
 * Projects each contribution gᵢ, in turn, against every other original gradient gⱼ in an order drawn
 * from `rng` (one shuffle per contribution): when gᵢ'·gⱼ < 0, gᵢ' ← gᵢ' − (gᵢ'·gⱼ / ‖gⱼ‖²)·gⱼ and a
 * conflict is counted for i. A gⱼ with norm below `PCGRAD_EPSILON` is skipped. Returns the weighted
 * mean of the projected gradients. Throws when there is no contribution, when the gradients differ in
 * length, when a weight is negative or not finite, or when all weights are zero.
 */
export function pcgrad(contributions: readonly Contribution[], rng: Rng): PcgradResult {
  const n = contributions.length;
  if (n === 0) throw new Error("pcgrad: no contribution to aggregate");
  const length = contributions[0]?.grad.length ?? 0;
  let weightSum = 0;
  for (const c of contributions) {
    if (c.grad.length !== length)
      throw new Error(`pcgrad: contribution '${c.id}' has ${c.grad.length} values, expected ${length}`);
    if (!Number.isFinite(c.weight) || c.weight < 0)
      throw new Error(`pcgrad: contribution '${c.id}' has weight ${String(c.weight)}, expected finite ≥ 0`);
    weightSum += c.weight;
  }
  if (weightSum <= 0) throw new Error("pcgrad: every contribution has weight 0");
  const norms2 = contributions.map((c) => dot(c.grad, c.grad));
  const out = new Float64Array(length);
  const outcomes: ContributionOutcome[] = [];
  let total = 0;
  contributions.forEach((c, i) => {
    const g = Float64Array.from(c.grad);
    const order = contributions.map((_, j) => j).filter((j) => j !== i);
    rng.shuffle(order);
    let conflicts = 0;
    for (const j of order) {
      const other = contributions[j]?.grad as ArrayLike<number>;
      const nj = norms2[j] as number;
      if (nj < PCGRAD_EPSILON * PCGRAD_EPSILON) continue;
      const d = dot(g, other);
      if (d >= 0) continue;
      conflicts++;
      const f = d / nj;
      for (let k = 0; k < length; k++) g[k] = (g[k] as number) - f * (other[k] as number);
    }
    const w = c.weight / weightSum;
    for (let k = 0; k < length; k++) out[k] = (out[k] as number) + w * (g[k] as number);
    total += conflicts;
    outcomes.push({
      id: c.id,
      conflicts,
      conflictRatio: conflicts / Math.max(1, n - 1),
      norm: Math.sqrt(norms2[i] as number),
    });
  });
  return { grad: out, outcomes, conflicts: total, conflictRatio: total / (n * Math.max(1, n - 1)) };
}
