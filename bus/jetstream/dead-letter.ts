import { createHash } from "node:crypto";
import type { MsgHdrs } from "@nats-io/transport-node";
import { SystemLimits } from "../../contracts/budgets.ts";
import { encode } from "../../contracts/codec.ts";
import type { MessageInput } from "../../contracts/registry.ts";
import type { BusConnection } from "../connection.ts";
import { headerMap } from "../headers.ts";
import { streamIncarnation } from "./context.ts";
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
 * The message id of the DeadLetter for message `seq` of NATS stream `stream` created at `incarnation`
 * (the stream's `created` timestamp): the same from every path (handler, max-deliveries advisory,
 * repeated attempts), so the dead-letter stream stores it once, and new when the stream is recreated
 * and its sequences restart.
 */
export function deadLetterId(stream: string, incarnation: string, seq: number): string {
  return `${stream}-${incarnation}-${seq}`;
}

/** Bytes a DeadLetter's msgpack `bin` header may take around its payload (bin 32: 5). */
const BIN_HEADER_BYTES = 5;

/**
 * The DeadLetter for `m`: with the payload when it fits the codec limit, else with an empty payload and
 * the payload's size and sha256 (`omittedPayload`), the reason saying so.
 */
export function buildDeadLetter(
  stream: string,
  m: GivenUpMessage,
  deadLetteredAt: number,
): MessageInput<"DeadLetter"> {
  const reason = m.reason.slice(0, SystemLimits.maxTextLength);
  const bare = {
    originalSubject: m.subject,
    stream,
    consumer: m.consumer,
    deliveries: m.deliveries,
    reason,
    headers: headerMap(m.headers),
    payload: new Uint8Array(),
    deadLetteredAt,
    streamSequence: m.streamSequence,
  };
  const size = m.payload.byteLength;
  const bareSize = encode("DeadLetter", bare).byteLength;
  if (bareSize + size + BIN_HEADER_BYTES <= SystemLimits.maxMessageSizeBytes) {
    return { ...bare, payload: new Uint8Array(m.payload) };
  }
  const sha256 = createHash("sha256").update(m.payload).digest("hex");
  const note = `; payload of ${size} bytes left out (sha256 ${sha256}): with it the dead letter would exceed the codec limit of ${SystemLimits.maxMessageSizeBytes} bytes`;
  return {
    ...bare,
    reason: `${reason.slice(0, SystemLimits.maxTextLength - note.length)}${note}`,
    omittedPayload: { size, sha256 },
  };
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
    const incarnation = await streamIncarnation(bus, stream);
    const ack = await publishToStream(bus, "deadLetter", buildDeadLetter(stream, m, Date.now()), {
      params: { stream: m.streamKey },
      messageId: deadLetterId(stream, incarnation, m.streamSequence),
    });
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
