import { createInbox, type Msg, type MsgHdrs, type Subscription } from "@nats-io/transport-node";
import { HeaderNames } from "../../contracts/headers.ts";
import type { BusConnection } from "../connection.ts";
import { type StreamAck, StreamPublishError } from "./publish.ts";

const utf8 = new TextDecoder();

interface Pending {
  readonly subject: string;
  readonly messageId: string;
  readonly expiresAt: number;
  readonly resolve: (ack: StreamAck) => void;
  readonly reject: (err: Error) => void;
}

interface PubAckReply {
  readonly stream?: string;
  readonly seq?: number;
  readonly duplicate?: boolean;
  readonly error?: { readonly code?: number; readonly description?: string };
}

/**
 * Pipelined acked JetStream publishes for a high-rate forwarder (Weatherlight's telemetry fan-in):
 * each `store` publishes with a reply subject under one inbox subscription of this publisher and
 * resolves with the stream's ack, without a nats.js request (its per-call timer and errors) per message.
 * Acks past their deadline reject (one sweep timer), as do a PubAck error, no responders and `close`.
 * No retry here: the caller decides (the message id lets the stream drop a repeat).
 */
export class StreamPublisher {
  private readonly prefix: string;
  private readonly pending = new Map<number, Pending>();
  private readonly sub: Subscription;
  private readonly unregister: () => void;
  private next = 0;
  private outbox: { id: number; subject: string; data: Uint8Array; headers: MsgHdrs }[] = [];
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly bus: BusConnection,
    private readonly deadlineMs: number,
  ) {
    if (!(deadlineMs > 0)) throw new RangeError(`deadlineMs must be > 0, got ${deadlineMs}`);
    this.prefix = createInbox();
    this.sub = bus.nc.subscribe(`${this.prefix}.*`, { callback: (_err, m) => this.settle(m) });
    this.unregister = bus.onClose(async () => this.close());
  }

  /** Whether `close` was called: every later `store` rejects. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Acks awaited. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Stores encoded `data` with `headers` (which must carry `Nats-Msg-Id`) on JetStream `subject`;
   * resolves with the ack or rejects with {@link StreamPublishError} (no ack within the deadline, an
   * error answered by the stream, no stream for the subject, or the publisher closed).
   */
  store(subject: string, data: Uint8Array, headers: MsgHdrs): Promise<StreamAck> {
    const messageId = headers.get(HeaderNames.messageId);
    if (messageId === "")
      throw new Error(`StreamPublisher.store(${subject}): headers carry no ${HeaderNames.messageId}`);
    if (this.closed)
      return Promise.reject(
        new StreamPublishError(subject, messageId, 1, { cause: new Error("publisher closed") }),
      );
    const id = this.next++;
    return new Promise<StreamAck>((resolve, reject) => {
      this.pending.set(id, { subject, messageId, expiresAt: Date.now() + this.deadlineMs, resolve, reject });
      this.sweeper ??= setInterval(() => this.sweep(), Math.min(250, this.deadlineMs)).unref();
      this.outbox.push({ id, subject, data, headers });
      if (this.outbox.length === 1) setImmediate(this.send);
    });
  }

  /** Publishes what `store` queued in this turn of the event loop, so the connection writes it at once. */
  private readonly send = (): void => {
    const batch = this.outbox;
    this.outbox = [];
    for (const o of batch) {
      if (!this.pending.has(o.id)) continue;
      try {
        this.bus.nc.publish(o.subject, o.data, { reply: `${this.prefix}.${o.id}`, headers: o.headers });
      } catch (err) {
        this.fail(o.id, err);
        continue;
      }
      this.bus.metrics.published(o.subject);
    }
  };

  /** Rejects every awaited ack and stops listening. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unregister();
    if (!this.sub.isClosed()) this.sub.unsubscribe();
    for (const id of [...this.pending.keys()]) this.fail(id, new Error("publisher closed"));
    this.stopSweeper();
  }

  private settle(m: Msg): void {
    const id = Number(m.subject.slice(this.prefix.length + 1));
    const p = this.pending.get(id);
    if (p === undefined) return;
    if (m.data.byteLength === 0) {
      const status = m.headers?.code ?? 0;
      this.fail(
        id,
        new Error(status === 503 ? "no responders" : `status ${status} ${m.headers?.description ?? ""}`),
      );
      return;
    }
    let reply: PubAckReply;
    try {
      reply = JSON.parse(utf8.decode(m.data)) as PubAckReply;
    } catch (err) {
      this.fail(id, err);
      return;
    }
    if (reply.error !== undefined || reply.stream === undefined || reply.seq === undefined) {
      this.fail(
        id,
        new Error(
          `stream refused: ${reply.error?.code ?? "?"} ${reply.error?.description ?? "no ack fields"}`,
        ),
      );
      return;
    }
    this.pending.delete(id);
    if (this.pending.size === 0) this.stopSweeper();
    p.resolve({
      stream: reply.stream,
      seq: reply.seq,
      duplicate: reply.duplicate === true,
      messageId: p.messageId,
    });
  }

  private fail(id: number, cause: unknown): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    if (this.pending.size === 0) this.stopSweeper();
    p.reject(new StreamPublishError(p.subject, p.messageId, 1, { cause }));
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, p] of this.pending) {
      if (p.expiresAt > now) break; // in expiry order: every deadline is the same length
      this.fail(id, new Error(`timeout: no ack within ${this.deadlineMs} ms`));
    }
  }

  private stopSweeper(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
