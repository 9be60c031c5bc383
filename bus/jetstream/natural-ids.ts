import type { MessageInput } from "../../contracts/registry.ts";
import type { SubjectMessage } from "../../contracts/subjects.ts";
import type { JetStreamSubjectKey } from "./publish.ts";

/** A message type stored in a JetStream stream. */
export type StreamMessageType = SubjectMessage<JetStreamSubjectKey>;

type StringField<T> = { [K in keyof T]-?: T[K] extends string ? K : never }[keyof T];

/**
 * How a stream message without an id field gets its `Nats-Msg-Id`: `fresh` (a new NUID per publish; the
 * message is a snapshot, every publish is new) or `given` (the publisher must pass `messageId`).
 */
export type NoNaturalId = "fresh" | "given";

/**
 * The one table of each stream message type's natural id: the field whose value is its `Nats-Msg-Id`,
 * so a publish retried by anyone (the bus after a lost ack, or the sender after a restart) is
 * stored once within the stream's duplicate window.
 */
export const naturalIds: {
  readonly [T in StreamMessageType]: StringField<MessageInput<T>> | NoNaturalId;
} = {
  AdaptationCommand: "commandId",
  SeedDirective: "directiveId",
  SeedReport: "reportId",
  SystemStatePacket: "packetId",
  TelemetryPacket: "packetId",
  FieldReport: "reportId",
  EmergencySignal: "signalId",
  SeedState: "fresh",
  DeadLetter: "given",
};

/**
 * The `Nats-Msg-Id` of `msg` from {@link naturalIds}: its id field, or undefined for `fresh` types (the
 * bus then draws a NUID). Throws for a `given` type when `given` is undefined.
 */
export function naturalMessageId<T extends StreamMessageType>(
  type: T,
  msg: MessageInput<T>,
  given: string | undefined,
): string | undefined {
  if (given !== undefined) return given;
  const field = naturalIds[type];
  if (field === "fresh") return undefined;
  if (field === "given") throw new Error(`a ${type} needs an explicit messageId (it has no natural id)`);
  return (msg as Record<string, unknown>)[field] as string;
}
