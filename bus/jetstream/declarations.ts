import { SystemLimits } from "../../contracts/budgets.ts";
import type { BucketKey, ObjectStoreKey } from "../../contracts/stores.ts";
import type { SubjectKey } from "../../contracts/subjects.ts";

/**
 * The one place that declares Esper's durable NATS resources (ARCHITECTURE §3): JetStream streams,
 * durable consumers, KV buckets and the object store, with their limits. `ensure.ts` creates them
 * idempotently; everything else refers to them by key.
 */

const MiB = 1024 * 1024;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** What a full stream does with a new message: drop the oldest (`old`) or refuse the new one (`new`). */
export type DiscardPolicy = "old" | "new";

/** A JetStream stream (file storage, limits retention, one replica). Its NATS name is `<ns>_<key>`. */
export interface StreamDeclaration {
  /** Registry subjects stored by the stream (parameters stored for every value). */
  readonly subjects: readonly SubjectKey[];
  readonly maxAgeMs: number;
  readonly maxBytes: number;
  readonly discard: DiscardPolicy;
  /** Window within which a repeated `Nats-Msg-Id` is dropped as a duplicate. */
  readonly duplicateWindowMs: number;
  /** Largest stored message, headers included: the server's max payload, which a codec-valid message with its headers reaches. */
  readonly maxMsgSize: number;
}

const maxMsgSize = SystemLimits.serverMaxPayloadBytes;

/** The JetStream streams. */
export const streams = {
  /** Signed AdaptationCommands per target; refuses new commands when full rather than losing old ones. */
  commands: {
    subjects: ["command"],
    maxAgeMs: 7 * DAY_MS,
    maxBytes: 256 * MiB,
    discard: "new",
    /** Covers the longest command freshness window: a command retried while still fresh is stored once. */
    duplicateWindowMs: SystemLimits.maxCommandFreshnessMs,
    maxMsgSize,
  },
  /** Seed directives, seed reports and seed states. */
  seeds: {
    subjects: ["seedDirective", "seedReport", "seedState"],
    maxAgeMs: DAY_MS,
    maxBytes: 1024 * MiB,
    discard: "old",
    duplicateWindowMs: 2 * 60_000,
    maxMsgSize,
  },
  /** SystemStatePacket history. */
  stateHistory: {
    subjects: ["statePacket"],
    maxAgeMs: 7 * DAY_MS,
    maxBytes: 1024 * MiB,
    discard: "old",
    duplicateWindowMs: 2 * 60_000,
    maxMsgSize,
  },
  /** Routed telemetry below CRITICAL. */
  telemetryNormal: {
    subjects: ["telemetryNormal"],
    maxAgeMs: DAY_MS,
    maxBytes: 512 * MiB,
    discard: "old",
    duplicateWindowMs: 2 * 60_000,
    maxMsgSize,
  },
  /** Routed CRITICAL telemetry, kept longer. */
  telemetryEmergency: {
    subjects: ["telemetryEmergency"],
    maxAgeMs: 7 * DAY_MS,
    maxBytes: 256 * MiB,
    discard: "old",
    duplicateWindowMs: 2 * 60_000,
    maxMsgSize,
  },
  /** FieldReports following seed commands. */
  fieldReports: {
    subjects: ["fieldReport"],
    maxAgeMs: 30 * DAY_MS,
    maxBytes: 256 * MiB,
    discard: "old",
    duplicateWindowMs: 2 * 60_000,
    maxMsgSize,
  },
  /** EmergencySignals. */
  emergencySignals: {
    subjects: ["emergency"],
    maxAgeMs: 30 * DAY_MS,
    maxBytes: 64 * MiB,
    discard: "old",
    duplicateWindowMs: 2 * 60_000,
    maxMsgSize,
  },
  /** DeadLetters of every consumer, on `deadletter.<stream key>`. */
  deadLetters: {
    subjects: ["deadLetter"],
    maxAgeMs: 30 * DAY_MS,
    maxBytes: 256 * MiB,
    discard: "old",
    /** Covers the advisory stream's max age, so an advisory swept twice stores one DeadLetter. */
    duplicateWindowMs: HOUR_MS,
    maxMsgSize,
  },
} as const satisfies Record<string, StreamDeclaration>;

/**
 * The stream capturing the max-deliveries advisories of every declared stream (`<ns>_advisories`), so
 * an advisory the server publishes while no sweeper listens is swept later (see max-deliveries.ts).
 */
export const advisoryStream = {
  maxAgeMs: HOUR_MS,
  maxBytes: 64 * MiB,
  duplicateWindowMs: 2 * 60_000,
} as const;

/** The NATS name of the advisory stream under namespace `ns`. */
export function advisoryStreamName(ns: string): string {
  return `${ns}_advisories`;
}

/** The key of a declared stream. */
export type StreamKey = keyof typeof streams;

/** A durable pull consumer: explicit ack, bounded redelivery, then dead-letter. */
export interface ConsumerDeclaration {
  readonly stream: StreamKey;
  /** The registry subject it reads; its filter fixes the parameters in `params` and matches any value of the others. */
  readonly subject: SubjectKey;
  readonly params?: Readonly<Record<string, string>>;
  /** Time the server waits for an ack before redelivering. */
  readonly ackWaitMs: number;
  /** Deliveries before the message is dead-lettered. */
  readonly maxDeliver: number;
  /** Unacknowledged messages outstanding at once; 1 keeps strict order even across redeliveries. */
  readonly maxAckPending: number;
  /** Delay before a retryable failure is redelivered. */
  readonly retryDelayMs: number;
  /**
   * When the consumer is created (or recreated after a deletion) it starts with the messages stored in
   * the last `replayWindowMs`, not with the whole stream (deliver policy `by_start_time`).
   */
  readonly replayWindowMs: number;
}

/** A concrete durable consumer: its durable name and declaration. */
export interface DeclaredConsumer {
  readonly name: string;
  readonly declaration: ConsumerDeclaration;
}

const retries = SystemLimits.maxRetryAttempts;

/**
 * The stack-level durable consumers, by durable name: they serve every run (their filters match every
 * run token) and are created by `ensureResources`.
 */
export const stackConsumers = {
  "weatherlight-emergency": {
    stream: "emergencySignals",
    subject: "emergency",
    ackWaitMs: 10_000,
    maxDeliver: retries,
    maxAckPending: 16,
    retryDelayMs: 250,
    replayWindowMs: HOUR_MS,
  },
} as const satisfies Record<string, ConsumerDeclaration>;

/** The durable name of a stack-level consumer. */
export type StackConsumerName = keyof typeof stackConsumers;

/**
 * The per-run durable consumer templates, by template name: the run is given at use, which creates the
 * durable `<name>-<run>` reading only that run's subjects (see run-consumers.ts); each subject has a `{run}` token.
 */
export const runConsumers = {
  "kasmina-commands": {
    stream: "commands",
    subject: "command",
    params: { target: "kasmina" },
    ackWaitMs: 30_000,
    maxDeliver: retries,
    maxAckPending: 1,
    retryDelayMs: 1_000,
    replayWindowMs: SystemLimits.maxCommandFreshnessMs,
  },
  "tolaria-commands": {
    stream: "commands",
    subject: "command",
    params: { target: "tolaria" },
    ackWaitMs: 30_000,
    maxDeliver: retries,
    maxAckPending: 1,
    retryDelayMs: 1_000,
    replayWindowMs: SystemLimits.maxCommandFreshnessMs,
  },
  "tolaria-seed-directives": {
    stream: "seeds",
    subject: "seedDirective",
    ackWaitMs: 30_000,
    maxDeliver: retries,
    maxAckPending: 1,
    retryDelayMs: 500,
    replayWindowMs: 10 * 60_000,
  },
  "tolaria-seed-states": {
    stream: "seeds",
    subject: "seedState",
    ackWaitMs: 30_000,
    maxDeliver: retries,
    maxAckPending: 64,
    retryDelayMs: 500,
    replayWindowMs: 10 * 60_000,
  },
  "kasmina-seed-reports": {
    stream: "seeds",
    subject: "seedReport",
    ackWaitMs: 30_000,
    maxDeliver: retries,
    maxAckPending: 256,
    retryDelayMs: 500,
    replayWindowMs: 10 * 60_000,
  },
} as const satisfies Record<string, ConsumerDeclaration>;

/** The template name of a per-run consumer. */
export type RunConsumerName = keyof typeof runConsumers;

/** A KV bucket's limits (its value type is in `contracts/stores.ts`). */
export interface BucketDeclaration {
  /** Revisions kept per key. */
  readonly history: number;
  readonly maxBytes: number;
  readonly maxValueSize: number;
}

/** The KV buckets. */
export const kvBuckets = {
  settings: { history: 16, maxBytes: 16 * MiB, maxValueSize: 256 * 1024 },
  catalog: { history: 4, maxBytes: 64 * MiB, maxValueSize: 256 * 1024 },
  /** One value per run, rewritten after every command and report Kasmina handles; the largest codec-valid message fits. */
  kasminaState: { history: 2, maxBytes: 256 * MiB, maxValueSize: SystemLimits.maxMessageSizeBytes },
} as const satisfies Record<BucketKey, BucketDeclaration>;

/** An object store's limits. */
export interface ObjectStoreDeclaration {
  readonly maxBytes: number;
}

/** The object stores. */
export const objectStoreLimits = {
  kernels: { maxBytes: 4096 * MiB },
} as const satisfies Record<ObjectStoreKey, ObjectStoreDeclaration>;

/** The NATS name of declared stream `key` under namespace `ns`. */
export function streamName(ns: string, key: StreamKey): string {
  return `${ns}_${key}`;
}
