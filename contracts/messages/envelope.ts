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

/** A message a consumer gave up on, with why, kept on `<ns>.deadletter.<...>`. */
export const DeadLetter = z.strictObject({
  originalSubject: subjectString,
  stream: name,
  consumer: name,
  deliveries: uint32,
  reason: text.min(1, "must not be empty"),
  headers: boundedTextMap(),
  payload: bytes,
  deadLetteredAt: timestampMs,
  streamSequence: count,
});
export type DeadLetter = z.infer<typeof DeadLetter>;
