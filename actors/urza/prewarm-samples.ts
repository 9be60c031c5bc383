/** Latency percentiles of one blueprint's prewarms. */
export interface PrewarmPercentiles {
  readonly p50Ms: number;
  readonly p95Ms: number;
}

/** Percentile `p` in [0, 1] of ascending `sorted` samples, linearly interpolated between ranks. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error("percentile of no samples");
  if (!(p >= 0 && p <= 1)) throw new Error(`percentile p must be in [0, 1], got ${p}`);
  const rank = p * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (rank - lo);
}

/** The last `capacity` prewarm latencies per blueprint (oldest dropped first). */
export class PrewarmSamples {
  private readonly byBlueprint = new Map<string, number[]>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new Error(`prewarm sample capacity must be a positive integer, got ${capacity}`);
  }

  /** Records one prewarm of `blueprintId` that took `ms`. */
  record(blueprintId: string, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`prewarm latency must be finite and >= 0, got ${ms}`);
    let samples = this.byBlueprint.get(blueprintId);
    if (samples === undefined) {
      samples = [];
      this.byBlueprint.set(blueprintId, samples);
    }
    samples.push(ms);
    if (samples.length > this.capacity) samples.shift();
  }

  /** p50 and p95 of the recorded samples of `blueprintId`; throws when there are none. */
  percentiles(blueprintId: string): PrewarmPercentiles {
    const samples = this.byBlueprint.get(blueprintId);
    if (samples === undefined) throw new Error(`no prewarm samples recorded for blueprint ${blueprintId}`);
    const sorted = [...samples].sort((a, b) => a - b);
    return { p50Ms: percentile(sorted, 0.5), p95Ms: percentile(sorted, 0.95) };
  }
}
