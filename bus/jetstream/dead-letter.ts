import type { MsgHdrs } from "@nats-io/transport-node";
import { SystemLimits } from "../../contracts/budgets.ts";
import type { BusConnection } from "../connection.ts";
import { headerMap } from "../headers.ts";
import { type StreamKey, streamName } from "./declarations.ts";
import { publishToStream } from "./publish.ts";

/** A stream message a consumer gave up on, as known from its last delivery or from the stream by sequence. */
export interface GivenUpMessage {
  /** The declared stream that stores the message. */
  readonly streamKey: StreamKey;
  /** Durable name of the consumer that gave up. */
  readonly consumer: string;
  /** The message's subject (or, when the message is gone from the stream, the subject that reported it). */
  readonly subject: string;
  readonly streamSequence: number;
  readonly deliveries: number;
  readonly headers: MsgHdrs | undefined;
  /** The stored bytes; empty when the message could no longer be read from the stream. */
  readonly payload: Uint8Array;
  readonly reason: string;
}

/**
 * The message id of the DeadLetter for message `seq` of NATS stream `stream`: the same from every path
 * (handler, max-deliveries advisory, repeated attempts), so the dead-letter stream stores it once.
 */
export function deadLetterId(stream: string, seq: number): string {
  return `${stream}-${seq}`;
}

/**
 * Stores the DeadLetter for `m` on `<ns>.deadletter.<stream key>` (the one place that builds it).
 * Returns true when it is stored, or was already stored by another path (`bus.dead_letter_duplicate`);
 * a new one is counted and reported as `bus.dead_lettered`. Returns false after reporting
 * `bus.dead_letter_failed` when the dead-letter stream did not acknowledge it.
 */
export async function publishDeadLetter(bus: BusConnection, m: GivenUpMessage): Promise<boolean> {
  const stream = streamName(bus.namespace, m.streamKey);
  const label = `${stream}/${m.consumer}`;
  let duplicate: boolean;
  try {
    const ack = await publishToStream(
      bus,
      "deadLetter",
      {
        originalSubject: m.subject,
        stream,
        consumer: m.consumer,
        deliveries: m.deliveries,
        reason: m.reason.slice(0, SystemLimits.maxTextLength),
        headers: headerMap(m.headers),
        payload: new Uint8Array(m.payload),
        deadLetteredAt: Date.now(),
        streamSequence: m.streamSequence,
      },
      { params: { stream: m.streamKey }, messageId: deadLetterId(stream, m.streamSequence) },
    );
    duplicate = ack.duplicate;
  } catch (err) {
    bus.emit("bus.dead_letter_failed", "error", {
      consumer: label,
      subject: m.subject,
      seq: m.streamSequence,
      reason: m.reason,
      error: String(err),
    });
    return false;
  }
  if (duplicate) {
    bus.emit("bus.dead_letter_duplicate", "info", {
      consumer: label,
      subject: m.subject,
      seq: m.streamSequence,
    });
    return true;
  }
  bus.metrics.deadLettered(m.subject);
  bus.emit("bus.dead_lettered", "error", {
    consumer: label,
    subject: m.subject,
    seq: m.streamSequence,
    deliveries: m.deliveries,
    reason: m.reason,
  });
  return true;
}
