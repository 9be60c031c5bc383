import { IdleSignal } from "./idle-signal.ts";
import { type LatencySummary, LatencyWindow } from "./latency-window.ts";

/** `ordered`: one message at a time in arrival order. `concurrent`: up to `concurrency` at once. */
export type MailboxMode = "ordered" | "concurrent";

/** Handles one message; the signal fires when a drain's grace period runs out. */
export type MailboxHandler<M> = (message: M, signal: AbortSignal) => Promise<void>;

/** How a mailbox is built. */
export interface MailboxOptions<M> {
  /** Names the mailbox in metrics and heartbeats (usually the subscription). */
  readonly name: string;
  readonly mode: MailboxMode;
  /** Most messages waiting to be handled; `push` waits while the mailbox is full, `offer` drops. */
  readonly capacity: number;
  /** Handlers running at once in `concurrent` mode (ignored in `ordered` mode, which is always 1). */
  readonly concurrency?: number;
  readonly handler: MailboxHandler<M>;
  /** Told of every handler failure; the mailbox goes on with the next message. */
  readonly onError: (error: unknown, message: M) => void;
}

/** Counters and gauges of one mailbox. */
export interface MailboxMetrics {
  readonly name: string;
  readonly mode: MailboxMode;
  readonly capacity: number;
  readonly concurrency: number;
  /** Messages waiting to be handled. */
  readonly depth: number;
  readonly inFlight: number;
  /** Pushes waiting for room (backpressure). */
  readonly waitingPushers: number;
  readonly accepted: number;
  readonly handled: number;
  readonly failed: number;
  /** Messages `offer`ed (or `tryHandle`d) while the mailbox was full: never queued. */
  readonly dropped: number;
  /** Messages `offer`ed (or `tryHandle`d) after the mailbox closed (draining): never queued. */
  readonly droppedClosed: number;
  /** Handlers whose signal the drain fired at its grace deadline (not counted as handled or failed). */
  readonly abortedAtDrain: number;
  /** Handler run time of recent messages. */
  readonly latency: LatencySummary;
}

/** What `drain` did. */
export interface MailboxDrainReport {
  /** Messages handled (successfully or not) while draining. */
  readonly handledDuringDrain: number;
  /** Messages still queued at the grace deadline; never handled. */
  readonly abandonedQueued: number;
  /** Handlers still running at the grace deadline; their signal was fired. */
  readonly abortedInFlight: number;
  /** Pushes that were waiting for room when the drain began; rejected with MailboxClosedError. */
  readonly refusedPushers: number;
}

/** Thrown by `push` once the mailbox is draining or drained. */
export class MailboxClosedError extends Error {
  override readonly name = "MailboxClosedError";
  constructor(readonly mailbox: string) {
    super(`mailbox '${mailbox}' is closed (draining)`);
  }
}

interface Entry<M> {
  readonly message: M;
  /** Set by `handle`: told the handler's outcome instead of `onError`. */
  readonly outcome?: { resolve: () => void; reject: (e: unknown) => void };
}

interface Waiter<M> {
  readonly entry: Entry<M>;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/**
 * A bounded per-subscription mailbox. Two intake policies: `push` resolves once the message is
 * queued and, when the mailbox is full, waits (FIFO among pushers) until there is room, so a loop
 * that awaits `push` slows down; `offer` (and `tryHandle`) is synchronous and, when the mailbox is
 * full or closed, drops the message and counts it, so a bus callback never queues anything outside
 * the mailbox. Every accepted message ends as handled, failed, abandoned at drain or aborted at drain.
 * Handler failures are counted and reported through `onError`; they never stop the mailbox.
 */
export class Mailbox<M> {
  readonly name: string;
  readonly mode: MailboxMode;
  private capacity: number;
  private concurrency: number;
  private readonly handler: MailboxHandler<M>;
  private readonly onError: (error: unknown, message: M) => void;
  private items: Entry<M>[] = [];
  private head = 0;
  private readonly waiters: Waiter<M>[] = [];
  private readonly controllers = new Set<AbortController>();
  private closed = false;
  private readonly idle = new IdleSignal(() => this.isIdle());
  private readonly latency = new LatencyWindow();
  private counts = { accepted: 0, handled: 0, failed: 0, dropped: 0, droppedClosed: 0, abortedAtDrain: 0 };
  private readonly abortedByDrain = new WeakSet<AbortController>();

  constructor(opts: MailboxOptions<M>) {
    this.name = opts.name;
    this.mode = opts.mode;
    this.handler = opts.handler;
    this.onError = opts.onError;
    this.capacity = checkLimit("capacity", opts.capacity);
    this.concurrency = opts.mode === "ordered" ? 1 : checkLimit("concurrency", opts.concurrency ?? 1);
  }

  /** Queues a message, waiting for room when full. Rejects with MailboxClosedError once draining. */
  push(message: M): Promise<void> {
    return this.enqueue({ message });
  }

  /**
   * Queues a message like `push` and resolves when its handler has finished, or rejects with the
   * handler's error (which then does not go to `onError`). For sources that acknowledge per message.
   */
  async handle(message: M): Promise<void> {
    let resolve: () => void = () => {};
    let reject: (e: unknown) => void = () => {};
    const handled = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    await this.enqueue({ message, outcome: { resolve, reject } });
    return handled;
  }

  /**
   * Queues `message` now if there is room and returns true; otherwise drops it, counts it (`dropped`
   * when full, `droppedClosed` once draining) and returns false. Never waits.
   */
  offer(message: M): boolean {
    return this.admit({ message });
  }

  /**
   * Like `offer`, but returns a promise of the handler's outcome (as `handle`) when the message was
   * queued, or undefined when it was dropped and counted.
   */
  tryHandle(message: M): Promise<void> | undefined {
    let resolve: () => void = () => {};
    let reject: (e: unknown) => void = () => {};
    const handled = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return this.admit({ message, outcome: { resolve, reject } }) ? handled : undefined;
  }

  private admit(entry: Entry<M>): boolean {
    if (this.closed) {
      this.counts.droppedClosed++;
      return false;
    }
    if (this.depth >= this.capacity || this.waiters.length > 0) {
      this.counts.dropped++;
      return false;
    }
    this.accept(entry);
    return true;
  }

  private enqueue(entry: Entry<M>): Promise<void> {
    if (this.closed) return Promise.reject(new MailboxClosedError(this.name));
    if (this.depth < this.capacity && this.waiters.length === 0) {
      this.accept(entry);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.waiters.push({ entry, resolve, reject }));
  }

  /** Applies new limits live (concurrency only in `concurrent` mode). */
  reconfigure(change: { readonly capacity?: number; readonly concurrency?: number }): void {
    const capacity = change.capacity === undefined ? this.capacity : checkLimit("capacity", change.capacity);
    const concurrency =
      this.mode === "ordered" || change.concurrency === undefined
        ? this.concurrency
        : checkLimit("concurrency", change.concurrency);
    this.capacity = capacity;
    this.concurrency = concurrency;
    this.admitWaiters();
    this.pump();
  }

  /**
   * Refuses new pushes (waiting pushers are rejected), lets queued and running messages finish for up
   * to `graceMs`, then fires the signal of handlers still running and abandons what is still queued.
   */
  async drain(graceMs: number): Promise<MailboxDrainReport> {
    const handledBefore = this.counts.handled + this.counts.failed;
    const refusedPushers = this.closed ? 0 : this.waiters.length;
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new MailboxClosedError(this.name));
    await this.idle.within(graceMs);
    const abandonedQueued = this.depth;
    for (let i = this.head; i < this.items.length; i++) {
      this.items[i]?.outcome?.reject(new MailboxClosedError(this.name));
    }
    this.items = [];
    this.head = 0;
    const abortedInFlight = this.controllers.size;
    this.counts.abortedAtDrain += abortedInFlight;
    for (const c of this.controllers) {
      this.abortedByDrain.add(c);
      c.abort(new MailboxClosedError(this.name));
    }
    return {
      handledDuringDrain: this.counts.handled + this.counts.failed - handledBefore,
      abandonedQueued,
      abortedInFlight,
      refusedPushers,
    };
  }

  /** Resolves when nothing is queued or running. */
  whenIdle(): Promise<void> {
    return this.idle.whenIdle();
  }

  /** A snapshot of counters and gauges. */
  metrics(): MailboxMetrics {
    return {
      name: this.name,
      mode: this.mode,
      capacity: this.capacity,
      concurrency: this.concurrency,
      depth: this.depth,
      inFlight: this.controllers.size,
      waitingPushers: this.waiters.length,
      ...this.counts,
      latency: this.latency.summary(),
    };
  }

  /** True once `drain` began: nothing more is accepted. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Messages waiting to be handled. */
  get depth(): number {
    return this.items.length - this.head;
  }

  private accept(entry: Entry<M>): void {
    this.items.push(entry);
    this.counts.accepted++;
    this.pump();
  }

  private admitWaiters(): void {
    while (this.depth < this.capacity) {
      const w = this.waiters.shift();
      if (!w) return;
      this.accept(w.entry);
      w.resolve();
    }
  }

  private pump(): void {
    while (this.controllers.size < this.concurrency && this.depth > 0) {
      const entry = this.items[this.head] as Entry<M>;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      this.run(entry);
      this.admitWaiters();
    }
  }

  private run({ message, outcome }: Entry<M>): void {
    const controller = new AbortController();
    this.controllers.add(controller);
    const t0 = performance.now();
    let result: Promise<void>;
    try {
      result = Promise.resolve(this.handler(message, controller.signal));
    } catch (error) {
      result = Promise.reject(error);
    }
    result
      .then(
        () => {
          if (!this.abortedByDrain.has(controller)) this.counts.handled++;
          outcome?.resolve();
        },
        (error: unknown) => {
          if (this.abortedByDrain.has(controller)) {
            outcome?.reject(error);
            return;
          }
          this.counts.failed++;
          if (outcome) outcome.reject(error);
          else this.onError(error, message);
        },
      )
      .finally(() => {
        this.latency.record(performance.now() - t0);
        this.controllers.delete(controller);
        this.pump();
        this.idle.notify();
      });
  }

  private isIdle(): boolean {
    return this.depth === 0 && this.controllers.size === 0;
  }
}

function checkLimit(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`mailbox ${field} must be an integer >= 1, got ${value}`);
  return value;
}
