import { type MsgHdrs, MsgHdrsImpl } from "@nats-io/transport-node";
import { SystemLimits } from "../../contracts/budgets.ts";
import { encode } from "../../contracts/codec.ts";
import { HeaderNames } from "../../contracts/headers.ts";
import type { MessageInput } from "../../contracts/registry.ts";
import { checkRunToken, type SubjectKey, type SubjectMessage, subjects } from "../../contracts/subjects.ts";
import type { BusConnection } from "../connection.ts";
import { outgoingHeaders, type SendOptions } from "../headers.ts";
import { concreteSubject, type OptionsArg, type SubjectTarget } from "../typed.ts";
import { jetStreamOf } from "./context.ts";
import { naturalMessageId } from "./natural-ids.ts";

/** Keys of subjects stored in JetStream streams. */
export type JetStreamSubjectKey = {
  [K in SubjectKey]: (typeof subjects)[K]["transport"] extends "jetstream" ? K : never;
}[SubjectKey];

/** Options of {@link publishToStream}: headers, `params` when the subject has parameters, and the ack deadline. */
export type StreamPublishOptions<K extends SubjectKey> = SubjectTarget<K> &
  SendOptions & {
    /** Overall deadline for a stored ack, across retries; default 10 000 ms. */
    readonly deadlineMs?: number;
  };

/** The stream's acknowledgement of a stored message. */
export interface StreamAck {
  readonly stream: string;
  readonly seq: number;
  /** True when the stream already held a message with this message id (nothing new was stored). */
  readonly duplicate: boolean;
  readonly messageId: string;
}

/** A message was not acknowledged by its stream before the deadline. */
export class StreamPublishError extends Error {
  override readonly name = "StreamPublishError";
  constructor(
    readonly subject: string,
    readonly messageId: string,
    readonly attempts: number,
    options?: ErrorOptions,
  ) {
    const cause = options?.cause instanceof Error ? options.cause.message : String(options?.cause);
    const hint = /no responders|jetstream is not enabled/i.test(cause)
      ? " (no stream stores this subject, or JetStream is off: were the resources ensured?)"
      : "";
    super(
      `no stream ack for ${subject} (message id ${messageId}) after ${attempts} attempt(s): ${cause}${hint}`,
      options,
    );
  }
}

/** A message with its headers is larger than the server accepts, or its headers exceed the header budget. */
export class MessageTooLargeError extends Error {
  override readonly name = "MessageTooLargeError";
}

/**
 * Validates, encodes and stores `msg` on JetStream subject `key`, waiting for the stream's ack.
 * The `Nats-Msg-Id` header (the message's natural id, see natural-ids.ts) lets the stream drop
 * duplicates, so the publish is retried with the same id until `deadlineMs` when the ack does not come (e.g. during a
 * reconnect). Throws ContractError for an invalid message, RunMismatchError when a run-level message's
 * run id differs from the subject's `{run}` token, and {@link StreamPublishError} past the deadline.
 */
export async function publishToStream<K extends JetStreamSubjectKey>(
  bus: BusConnection,
  key: K,
  msg: MessageInput<SubjectMessage<K>>,
  ...[opts]: OptionsArg<K, StreamPublishOptions<K>>
): Promise<StreamAck> {
  const o = opts as StreamPublishOptions<K> | undefined;
  const subject = concreteSubject(bus.namespace, key, o?.params);
  const type = subjects[key].message;
  const data = encode(type, msg);
  checkRunToken(key, o?.params, msg);
  const messageId = naturalMessageId(type, msg, o?.messageId);
  const headers = outgoingHeaders(type, msg, messageId === undefined ? o : { ...o, messageId });
  return storeEncoded(bus, subject, data, headers, o?.deadlineMs ?? 10_000);
}

/** Stores already encoded bytes with their headers (which must carry `Nats-Msg-Id`); retries until the deadline. */
export async function storeEncoded(
  bus: BusConnection,
  subject: string,
  data: Uint8Array,
  headers: MsgHdrs,
  deadlineMs: number,
): Promise<StreamAck> {
  const messageId = headers.get(HeaderNames.messageId);
  if (messageId === "")
    throw new Error(`storeEncoded(${subject}): headers carry no ${HeaderNames.messageId}`);
  checkSize(subject, data, headers);
  const js = jetStreamOf(bus);
  const deadline = Date.now() + deadlineMs;
  let attempts = 0;
  for (;;) {
    attempts++;
    const remaining = deadline - Date.now();
    try {
      const ack = await js.publish(subject, data, {
        msgID: messageId,
        headers,
        timeout: Math.max(200, Math.min(remaining, 2_000)),
      });
      bus.metrics.published(subject);
      return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate, messageId };
    } catch (err) {
      const left = deadline - Date.now();
      if (left <= 0 || bus.nc.isClosed() || !isTransient(err)) {
        throw new StreamPublishError(subject, messageId, attempts, { cause: err });
      }
      bus.emit("bus.stream_publish_retry", "warn", {
        subject,
        messageId,
        attempt: attempts,
        error: String(err),
      });
      await new Promise((r) => setTimeout(r, Math.min(left, 100 * attempts)));
    }
  }
}

/**
 * Refuses headers over `SystemLimits.maxHeaderBytes` and a message (headers + payload) over
 * `SystemLimits.serverMaxPayloadBytes` (the max payload the bus requires of its server; `ensureResources`
 * refuses a server with less), naming the sizes, before anything is sent, also while reconnecting.
 */
function checkSize(subject: string, data: Uint8Array, headers: MsgHdrs): void {
  if (!(headers instanceof MsgHdrsImpl)) throw new Error(`${subject}: headers are not nats.js MsgHdrsImpl`);
  const headerBytes = headers.encode().byteLength;
  if (headerBytes > SystemLimits.maxHeaderBytes) {
    throw new MessageTooLargeError(
      `${subject}: headers take ${headerBytes} bytes, over the header budget of ${SystemLimits.maxHeaderBytes} bytes`,
    );
  }
  const maxPayload = SystemLimits.serverMaxPayloadBytes;
  const total = headerBytes + data.byteLength;
  if (total > maxPayload) {
    throw new MessageTooLargeError(
      `${subject}: message of ${data.byteLength} bytes plus ${headerBytes} header bytes (${total}) exceeds the max payload of ${maxPayload} bytes`,
    );
  }
}

/**
 * Timeouts, missing responders (JetStream still loading after a restart) and disconnects are worth
 * retrying until the deadline; API errors (e.g. a message too big) are not.
 */
function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const text = `${err.name} ${err.message} ${err.cause instanceof Error ? `${err.cause.name} ${err.cause.message}` : ""}`;
  return (
    /timeout|no responders|not enabled|disconnect|connection|reconnect/i.test(text) &&
    !/stream not found/i.test(text)
  );
}
