import { percentile, round } from "./stats.ts";

/** Median, quartiles and range of per-round ratios (bus slowdown vs raw: > 1 means the bus is slower). */
export interface RatioSpread {
  readonly median: number;
  readonly p25: number;
  readonly p75: number;
  readonly min: number;
  readonly max: number;
  /** Each round's ratio, in round order. */
  readonly rounds: readonly number[];
}

/** Spread of the per-round `ratios` (rounded to 3 decimals). Throws on no rounds. */
export function ratioSpread(ratios: readonly number[]): RatioSpread {
  if (ratios.length === 0) throw new Error("ratio spread of no rounds");
  const sorted = [...ratios].sort((a, b) => a - b);
  return {
    median: round(median(sorted), 3),
    p25: round(percentile(sorted, 25), 3),
    p75: round(percentile(sorted, 75), 3),
    min: round(sorted[0] as number, 3),
    max: round(sorted[sorted.length - 1] as number, 3),
    rounds: ratios.map((r) => round(r, 3)),
  };
}

/** Median of ascending-sorted values (mean of the middle two for an even count). */
export function median(sorted: readonly number[]): number {
  if (sorted.length === 0) throw new Error("median of no values");
  const mid = sorted.length >> 1;
  const upper = sorted[mid] as number;
  return sorted.length % 2 === 1 ? upper : (upper + (sorted[mid - 1] as number)) / 2;
}

/** The sides measured in each round of a paired benchmark. */
export type Side = "bus" | "raw" | "rawBytes";

/**
 * The order of the sides in round `r`: bus and raw swap places every round (bus first in even rounds)
 * so neither always runs on a warmer or colder process; the transport ceiling `rawBytes` runs last.
 */
export function roundOrder(r: number): readonly Side[] {
  return r % 2 === 0 ? ["bus", "raw", "rawBytes"] : ["raw", "bus", "rawBytes"];
}

/**
 * Runs `warmup` discarded rounds, then `rounds` rounds of `measure` for every side in
 * {@link roundOrder}, and returns the kept results of each side in round order.
 */
export async function pairedRounds<F>(
  rounds: number,
  warmup: number,
  measure: (side: Side) => Promise<F>,
): Promise<Record<Side, F[]>> {
  const out: Record<Side, F[]> = { bus: [], raw: [], rawBytes: [] };
  for (let r = -warmup; r < rounds; r++) {
    for (const side of roundOrder(r)) {
      const f = await measure(side);
      if (r >= 0) out[side].push(f);
    }
  }
  return out;
}
