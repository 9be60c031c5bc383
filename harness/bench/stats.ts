/** Percentile `p` (0–100) of ascending-sorted samples, nearest rank. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new Error("percentile of no samples");
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** p50/p95/p99 and mean of samples (the array is sorted in place). */
export function summarize(samples: number[]): {
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  n: number;
} {
  samples.sort((a, b) => a - b);
  const mean = samples.reduce((s, v) => s + v, 0) / samples.length;
  return {
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    mean,
    n: samples.length,
  };
}

/** Rounds to `digits` decimals (for JSON output). */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
