import { z } from "zod";
import { SystemLimits } from "../budgets.ts";
import { BusMessageType, DeliveryGuarantee, MessagePriority } from "../enums.ts";
import {
  boundedTextMap,
  bytes,
  count,
  enumCode,
  id,
  name,
  nonNegative,
  sha256Hex,
  text,
  timestampMs,
  uint32,
} from "../primitives.ts";

/** A NATS subject: printable tokens separated by dots. */
export const subjectString = z
  .string()
  .min(1, "must not be empty")
  .max(512)
  .regex(/^[^\s.*>]+(\.[^\s.*>]+)*$/, "must be a concrete NATS subject");

/** A typed payload with attributes (the original's generic bus wrapper). */
export const BusEnvelope = z.strictObject({
  messageType: enumCode(BusMessageType, "BusMessageType"),
  payload: bytes,
  attributes: boundedTextMap(),
});
export type BusEnvelope = z.infer<typeof BusEnvelope>;

/** The original's event envelope with delivery metadata. Durations are milliseconds. */
export const EventEnvelope = z.strictObject({
  eventId: id,
  eventType: name,
  sourceSubsystem: name,
  createdAt: timestampMs,
  processingDeadlineMs: nonNegative,
  ttlMs: nonNegative,
  payload: bytes,
  payloadType: name,
  contentEncoding: name,
  priority: enumCode(MessagePriority, "MessagePriority"),
  routingKeys: z.array(name).max(SystemLimits.maxMapEntries),
  correlationId: id.optional(),
  deliveryGuarantee: enumCode(DeliveryGuarantee, "DeliveryGuarantee"),
  maxAttempts: uint32,
  currentAttempt: uint32,
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/** Size and digest of a dead-lettered payload that was left out because the DeadLetter would not fit the codec limit. */
export const OmittedPayload = z.strictObject({ size: count, sha256: sha256Hex });
export type OmittedPayload = z.infer<typeof OmittedPayload>;

/**
 * A message a consumer gave up on, with why, kept on `<ns>.deadletter.<...>`. `payload` holds the
 * original bytes, or is empty when they are gone from the stream or when keeping them would make the
 * DeadLetter exceed the codec limit; then `omittedPayload` gives their size and sha256.
 */
export const DeadLetter = z.strictObject({
  originalSubject: subjectString,
  stream: name,
  consumer: name,
  deliveries: uint32,
  reason: text.min(1, "must not be empty"),
  headers: boundedTextMap(),
  payload: bytes,
  omittedPayload: OmittedPayload.optional(),
  deadLetteredAt: timestampMs,
  streamSequence: count,
});
export type DeadLetter = z.infer<typeof DeadLetter>;
