/** One snapshot in the ring: the step it was taken at and its size in bytes. */
export interface RingEntry<T> {
  readonly step: number;
  readonly bytes: number;
  readonly value: T;
}

/**
 * The fast rollback tier: in-memory snapshots by step, bounded in bytes. Adding one past the bound
 * evicts the oldest first (counted in `evictions`); a snapshot larger than the whole bound is an error.
 */
export class SnapshotRing<T> {
  private readonly held: RingEntry<T>[] = [];
  private used = 0;
  private evicted = 0;

  constructor(readonly capacityBytes: number) {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes < 1)
      throw new RangeError(`capacityBytes must be an integer >= 1, got ${capacityBytes}`);
  }

  /** Adds the snapshot of `step` (steps must increase), evicting the oldest until it fits. */
  add(step: number, bytes: number, value: T): void {
    if (bytes > this.capacityBytes)
      throw new RangeError(
        `a snapshot of ${bytes} bytes does not fit the ring's ${this.capacityBytes} bytes (settings tolaria.rollback.fastRingBytes)`,
      );
    const last = this.held.at(-1);
    if (last !== undefined && step <= last.step)
      throw new RangeError(`snapshot step ${step} is not after the newest (${last.step})`);
    while (this.used + bytes > this.capacityBytes) {
      const old = this.held.shift();
      if (old === undefined) break;
      this.used -= old.bytes;
      this.evicted++;
    }
    this.held.push({ step, bytes, value });
    this.used += bytes;
  }

  /** The newest snapshot taken at or before `step`, or undefined (a miss). */
  atOrBefore(step: number): RingEntry<T> | undefined {
    for (let i = this.held.length - 1; i >= 0; i--) {
      const e = this.held[i];
      if (e !== undefined && e.step <= step) return e;
    }
    return undefined;
  }

  /** Drops the snapshots taken after `step` (after a rollback to it they describe a discarded future). */
  dropAfter(step: number): void {
    while ((this.held.at(-1)?.step ?? -Infinity) > step) {
      const e = this.held.pop();
      if (e) this.used -= e.bytes;
    }
  }

  /** The snapshots held, oldest first. */
  entries(): readonly RingEntry<T>[] {
    return this.held;
  }

  /** Snapshots held. */
  get size(): number {
    return this.held.length;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.used;
  }

  /** Snapshots evicted to make room so far. */
  get evictions(): number {
    return this.evicted;
  }
}
