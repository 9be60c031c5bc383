/** A snapshot of the bus counters of one connection. */
export interface BusMetricsSnapshot {
  /** Messages published, by concrete subject. */
  readonly published: Readonly<Record<string, number>>;
  /** Messages decoded and handed to a handler, by concrete subject. */
  readonly received: Readonly<Record<string, number>>;
  /** Messages refused before any handler, by `subject field-path` (e.g. `esper.seed.report epoch`). */
  readonly rejected: Readonly<Record<string, number>>;
  /** Messages moved to the dead-letter stream, by original subject. */
  readonly deadLettered: Readonly<Record<string, number>>;
  /** Handler failures that were redelivered (nak) or answered with an error, by subject. */
  readonly handlerErrors: Readonly<Record<string, number>>;
  /** Messages dropped because a subscription's pending queue was full, by subscription subject. */
  readonly dropped: Readonly<Record<string, number>>;
  /** Slow-consumer events (client or in-flight window full), by subscription subject. */
  readonly slowConsumer: Readonly<Record<string, number>>;
  /** Latest pending count (messages waiting for a handler), by subscription subject. */
  readonly pending: Readonly<Record<string, number>>;
  /** Disconnects and reconnects of the connection. */
  readonly disconnects: number;
  readonly reconnects: number;
}

function bump(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

/** Counters of one bus connection (plain maps; read with {@link BusMetrics.snapshot}). */
export class BusMetrics {
  private readonly publishedBy = new Map<string, number>();
  private readonly receivedBy = new Map<string, number>();
  private readonly rejectedBy = new Map<string, number>();
  private readonly deadLetteredBy = new Map<string, number>();
  private readonly handlerErrorsBy = new Map<string, number>();
  private readonly slowBy = new Map<string, number>();
  private readonly droppedBy = new Map<string, number>();
  private readonly pendingBy = new Map<string, number>();
  private disconnectCount = 0;
  private reconnectCount = 0;

  /** Counts one published message on `subject`. */
  published(subject: string): void {
    bump(this.publishedBy, subject);
  }
  /** Counts one message handed to a handler on `subject`. */
  received(subject: string): void {
    bump(this.receivedBy, subject);
  }
  /** Counts one message refused on `subject` because of the field at `field` (`<root>` for the whole payload). */
  rejected(subject: string, field: string): void {
    bump(this.rejectedBy, `${subject} ${field}`);
  }
  /** Counts one message dead-lettered from `subject`. */
  deadLettered(subject: string): void {
    bump(this.deadLetteredBy, subject);
  }
  /** Counts one failed handler run on `subject`. */
  handlerError(subject: string): void {
    bump(this.handlerErrorsBy, subject);
  }
  /** Counts one slow-consumer event on subscription `subject`. */
  slowConsumer(subject: string): void {
    bump(this.slowBy, subject);
  }
  /** Counts one message dropped by subscription `subject` (its queue was full). */
  dropped(subject: string): void {
    bump(this.droppedBy, subject);
  }
  /** Records the pending count of subscription `subject`. */
  pending(subject: string, count: number): void {
    this.pendingBy.set(subject, count);
  }
  /** Counts a disconnect of the connection. */
  disconnected(): void {
    this.disconnectCount++;
  }
  /** Counts a reconnect of the connection. */
  reconnected(): void {
    this.reconnectCount++;
  }

  /** A copy of every counter. */
  snapshot(): BusMetricsSnapshot {
    return {
      published: Object.fromEntries(this.publishedBy),
      received: Object.fromEntries(this.receivedBy),
      rejected: Object.fromEntries(this.rejectedBy),
      deadLettered: Object.fromEntries(this.deadLetteredBy),
      handlerErrors: Object.fromEntries(this.handlerErrorsBy),
      slowConsumer: Object.fromEntries(this.slowBy),
      dropped: Object.fromEntries(this.droppedBy),
      pending: Object.fromEntries(this.pendingBy),
      disconnects: this.disconnectCount,
      reconnects: this.reconnectCount,
    };
  }
}
