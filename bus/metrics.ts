import type { MessageType } from "../contracts/registry.ts";
import { fieldLabel, subjectLabel } from "./metric-labels.ts";

/**
 * A snapshot of the bus counters of one connection. Subjects are labelled by their registry pattern
 * (`command.{target}`, never the concrete subject with run ids or targets; `unknown_subject` when not
 * registered) and field paths by the fields their message type declares (`unknown_key` for a key a
 * sender made up), so the label set stays bounded whatever arrives.
 */
export interface BusMetricsSnapshot {
  /** Messages published, by subject pattern. */
  readonly published: Readonly<Record<string, number>>;
  /** Messages decoded and handed to a handler, by subject pattern. */
  readonly received: Readonly<Record<string, number>>;
  /** Messages refused before any handler, by `pattern field-path` (e.g. `seed.{run}.report epoch`). */
  readonly rejected: Readonly<Record<string, number>>;
  /** Messages moved to the dead-letter stream, by original subject pattern. */
  readonly deadLettered: Readonly<Record<string, number>>;
  /** Handler failures that were redelivered (nak) or answered with an error, by subject pattern. */
  readonly handlerErrors: Readonly<Record<string, number>>;
  /** Messages dropped because a subscription's pending queue was full, by subscription subject pattern. */
  readonly dropped: Readonly<Record<string, number>>;
  /** Slow-consumer events (client or in-flight window full), by subscription subject pattern or `<stream>/<consumer>`. */
  readonly slowConsumer: Readonly<Record<string, number>>;
  /** Latest pending count (messages waiting for a handler), by subscription subject pattern or `<stream>/<consumer>`. */
  readonly pending: Readonly<Record<string, number>>;
  /** Disconnects and reconnects of the connection. */
  readonly disconnects: number;
  readonly reconnects: number;
}

function bump(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

/** Concrete subjects whose label is remembered (the lookup walks the registry); past it, labels are computed. */
const LABEL_CACHE_SIZE = 4096;

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
  private readonly labels = new Map<string, string>();

  /** The label of concrete `subject` (its registry pattern), remembered for the first subjects seen. */
  private label(subject: string): string {
    let label = this.labels.get(subject);
    if (label === undefined) {
      label = subjectLabel(subject);
      if (this.labels.size < LABEL_CACHE_SIZE) this.labels.set(subject, label);
    }
    return label;
  }

  /** Counts one published message on `subject`. */
  published(subject: string): void {
    bump(this.publishedBy, this.label(subject));
  }
  /** Counts one message handed to a handler on `subject`. */
  received(subject: string): void {
    bump(this.receivedBy, this.label(subject));
  }
  /** Counts one message of `type` refused on `subject` because of the field at `path` (empty for the whole payload). */
  rejected(subject: string, type: MessageType, path: readonly (string | number)[]): void {
    bump(this.rejectedBy, `${this.label(subject)} ${fieldLabel(type, path)}`);
  }
  /** Counts one message dead-lettered from `subject`. */
  deadLettered(subject: string): void {
    bump(this.deadLetteredBy, this.label(subject));
  }
  /** Counts one failed handler run on `subject`. */
  handlerError(subject: string): void {
    bump(this.handlerErrorsBy, this.label(subject));
  }
  /** Counts one slow-consumer event on subscription `subject`. */
  slowConsumer(subject: string): void {
    bump(this.slowBy, this.label(subject));
  }
  /** Counts one message dropped by subscription `subject` (its queue was full). */
  dropped(subject: string): void {
    bump(this.droppedBy, this.label(subject));
  }
  /** Records the pending count of subscription `subject`. */
  pending(subject: string, count: number): void {
    this.pendingBy.set(this.label(subject), count);
  }
  /** Counts one behind event of durable consumer `consumer` (`<stream>/<durable>`, named by code, not by senders). */
  consumerBehind(consumer: string): void {
    bump(this.slowBy, consumer);
  }
  /** Records the pending count of durable consumer `consumer` (`<stream>/<durable>`). */
  consumerPending(consumer: string, count: number): void {
    this.pendingBy.set(consumer, count);
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
