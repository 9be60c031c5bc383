/** Performance budgets of the execution plane (RC1 values). Checked by `esper bench ...`, not by tests. */
export const PerformanceBudgets = {
  epochBoundaryMs: 18,
  tamiyoInferenceMs: 12,
  systemStateAssemblyMs: 3,
  adaptationProcessingMs: 2,
  fastRollbackMs: 500,
  fullRollbackSeconds: 12,
  serializationUs: 80,
  validationUs: 20,
  breakerTimeoutMs: 1000,
  breakerResetSeconds: 30,
} as const;

/** nats-server's default `max_payload`: the largest message (headers + payload) it accepts. */
const SERVER_MAX_PAYLOAD_BYTES = 1_048_576;
/** Room kept for a message's headers (Esper headers, `Nats-Msg-Id`, anything JetStream adds). */
const MAX_HEADER_BYTES = 4_096;

/** Hard limits every actor and the codec enforce. */
export const SystemLimits = {
  /** The server's `max_payload` the bus relies on (headers + payload); a server with less is refused. */
  serverMaxPayloadBytes: SERVER_MAX_PAYLOAD_BYTES,
  /** Header budget of one message; the bus refuses to send headers larger than this. */
  maxHeaderBytes: MAX_HEADER_BYTES,
  /** Largest encoded message accepted or produced by the codec: the server's max payload less the header budget. */
  maxMessageSizeBytes: SERVER_MAX_PAYLOAD_BYTES - MAX_HEADER_BYTES,
  maxSeedsPerEpoch: 64,
  maxSeedStatesPerPacket: 256,
  maxQueueDepth: 10_000,
  maxRetryAttempts: 5,
  /** Longest identifier (command id, seed id, run id, ...). */
  maxIdLength: 128,
  /** Longest short text (names, reasons, descriptions). */
  maxTextLength: 4096,
  /** Most entries in a bounded free-form map (metrics extras, attributes). */
  maxMapEntries: 64,
  /** Most metrics, events or spans in one telemetry packet. */
  maxTelemetryItems: 1024,
  /** Longest freshness window a signed command may declare (CommandSecurity.freshnessWindowMs). */
  maxCommandFreshnessMs: 3_600_000,
  /** Largest per-channel alpha vector of a CHANNEL blend. */
  maxAlphaVectorLength: 4096,
} as const;

/** Version of the Leyline contracts carried in every message's headers. */
export const CONTRACT_VERSION = 1;
