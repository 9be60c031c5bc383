/** Percentiles of the recent latencies kept by a LatencyWindow (milliseconds). */
export interface LatencySummary {
  /** Samples recorded since creation (not only those still in the window). */
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * A fixed-size ring of the most recent latency samples. Memory is bounded by `capacity`; percentiles
 * are computed over the samples still in the ring (nearest-rank), 0 when there are none.
 */
export class LatencyWindow {
  private readonly samples: Float64Array;
  private next = 0;
  private filled = 0;
  private total = 0;

  constructor(readonly capacity = 2048) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`LatencyWindow capacity must be a positive integer, got ${capacity}`);
    }
    this.samples = new Float64Array(capacity);
  }

  /** Adds one sample in milliseconds (negative or non-finite values are a programming error). */
  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError(`latency sample must be finite and >= 0, got ${ms}`);
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.capacity;
    if (this.filled < this.capacity) this.filled++;
    this.total++;
  }

  /** Percentiles over the samples in the window. */
  summary(): LatencySummary {
    if (this.filled === 0) return { count: this.total, p50: 0, p95: 0, p99: 0, max: 0 };
    const sorted = this.samples.slice(0, this.filled).sort();
    return {
      count: this.total,
      p50: rank(sorted, 0.5),
      p95: rank(sorted, 0.95),
      p99: rank(sorted, 0.99),
      max: sorted[sorted.length - 1] ?? 0,
    };
  }
}

/** Nearest-rank percentile of an ascending non-empty array. */
function rank(sorted: Float64Array, q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? 0;
}
