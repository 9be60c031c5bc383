/** What a {@link BoundedRunner} reports about its queue. */
export interface RunnerSignals {
  /** The queue reached its high-water mark (half of `maxPending`); fired once per crossing. */
  onBehind(pending: number): void;
  /** An item was dropped because the queue was full. */
  onDropped(pending: number): void;
  /** The queue went back under a quarter of `maxPending` after being behind. */
  onCaughtUp(pending: number): void;
  /** The handler threw or rejected (handlers are expected to report their own errors; this is the backstop). */
  onRunError(err: unknown): void;
  /** `count` items were discarded unhandled: the queue at {@link BoundedRunner.discard}, or an item pushed after it. */
  onDiscarded(count: number): void;
}

/**
 * Runs a handler for each pushed item with at most `maxInFlight` runs at once, keeping at most
 * `maxPending` waiting items in FIFO order and dropping (and reporting) beyond that, so memory stays
 * bounded when the handler falls behind. With `maxInFlight` 1, items are handled strictly in order.
 */
export class BoundedRunner<T> {
  private readonly queue: T[] = [];
  private head = 0;
  private inFlight = 0;
  private behind = false;
  private pumping = false;
  private discarded = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly run: (item: T) => void | Promise<void>,
    private readonly maxInFlight: number,
    private readonly maxPending: number,
    private readonly signals: RunnerSignals,
  ) {
    if (!(maxInFlight >= 1)) throw new RangeError(`maxInFlight must be >= 1, got ${maxInFlight}`);
    if (!(maxPending >= 1)) throw new RangeError(`maxPending must be >= 1, got ${maxPending}`);
  }

  /** Items waiting for a free slot. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** Handler runs not yet finished. */
  get running(): number {
    return this.inFlight;
  }

  /**
   * Hands `item` to the handler now if a slot is free, else queues it (or drops it when the queue is
   * full). After {@link discard}, the item is discarded and reported instead.
   */
  push(item: T): void {
    if (this.discarded) {
      this.signals.onDiscarded(1);
      return;
    }
    if (this.inFlight < this.maxInFlight && this.pending === 0) {
      this.start(item);
      if (this.inFlight === 0 && this.idleWaiters.length > 0) this.pump();
      return;
    }
    if (this.pending >= this.maxPending) {
      this.signals.onDropped(this.pending);
      return;
    }
    this.queue.push(item);
    if (!this.behind && this.pending >= Math.max(1, this.maxPending >> 1)) {
      this.behind = true;
      this.signals.onBehind(this.pending);
    }
  }

  /**
   * Drops every queued item unhandled and returns how many (reported through `onDiscarded` when
   * any); later pushes are discarded too. Running handlers go on.
   */
  discard(): number {
    this.discarded = true;
    const count = this.pending;
    this.queue.length = 0;
    this.head = 0;
    if (count > 0) this.signals.onDiscarded(count);
    this.pump();
    return count;
  }

  /** Resolves when nothing is running or queued. */
  idle(): Promise<void> {
    if (this.inFlight === 0 && this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private start(item: T): void {
    this.inFlight++;
    let result: Promise<void> | undefined;
    try {
      const r = this.run(item);
      if (r instanceof Promise) result = r;
    } catch (err) {
      this.signals.onRunError(err);
    }
    if (result !== undefined) {
      result.then(this.done, (err: unknown) => {
        this.signals.onRunError(err);
        this.done();
      });
    } else this.inFlight--;
  }

  private readonly done = (): void => {
    this.inFlight--;
    this.pump();
  };

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    while (this.inFlight < this.maxInFlight && this.pending > 0) {
      const next = this.queue[this.head] as T;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      if (this.behind && this.pending <= this.maxPending >> 2) {
        this.behind = false;
        this.signals.onCaughtUp(this.pending);
      }
      this.start(next);
    }
    this.pumping = false;
    if (this.inFlight === 0 && this.pending === 0 && this.idleWaiters.length > 0) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}
