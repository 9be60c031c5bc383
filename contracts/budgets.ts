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

/** Hard limits every actor and the codec enforce. */
export const SystemLimits = {
  /** Largest encoded message accepted or produced by the codec. */
  maxMessageSizeBytes: 1_048_576,
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
  /** Largest per-channel alpha vector of a CHANNEL blend. */
  maxAlphaVectorLength: 4096,
} as const;

/** Version of the Leyline contracts carried in every message's headers. */
export const CONTRACT_VERSION = 1;
