/**
 * Leyline enums as const objects carrying the numeric codes of the original `leyline.proto`.
 * Code 0 (UNKNOWN/UNSPECIFIED) exists for completeness; message schemas reject it on the wire.
 */

/** Stage of a seed's lifecycle. */
export const SeedLifecycleStage = {
  UNKNOWN: 0,
  DORMANT: 1,
  GERMINATED: 2,
  TRAINING: 3,
  BLENDING: 4,
  SHADOWING: 5,
  PROBATIONARY: 6,
  FOSSILIZED: 7,
  CULLED: 8,
  EMBARGOED: 9,
  RESETTING: 10,
  TERMINATED: 11,
} as const;
export type SeedLifecycleStage = (typeof SeedLifecycleStage)[keyof typeof SeedLifecycleStage];

/** Lifecycle gates G0–G5 checked by Kasmina. */
export const SeedLifecycleGate = {
  UNKNOWN: 0,
  G0_SANITY: 1,
  G1_GRADIENT_HEALTH: 2,
  G2_STABILITY: 3,
  G3_INTERFACE: 4,
  G4_SYSTEM_IMPACT: 5,
  G5_RESET: 6,
} as const;
export type SeedLifecycleGate = (typeof SeedLifecycleGate)[keyof typeof SeedLifecycleGate];

/** Health of a subsystem. */
export const HealthStatus = { UNKNOWN: 0, HEALTHY: 1, DEGRADED: 2, UNHEALTHY: 3, CRITICAL: 4 } as const;
export type HealthStatus = (typeof HealthStatus)[keyof typeof HealthStatus];

/** State of a circuit breaker. */
export const CircuitBreakerState = { UNKNOWN: 0, CLOSED: 1, OPEN: 2, HALF_OPEN: 3 } as const;
export type CircuitBreakerState = (typeof CircuitBreakerState)[keyof typeof CircuitBreakerState];

/** Kind of an AdaptationCommand. */
export const CommandType = {
  UNKNOWN: 0,
  SEED: 1,
  ROLLBACK: 2,
  OPTIMIZER: 3,
  CIRCUIT_BREAKER: 4,
  PAUSE: 5,
  EMERGENCY: 6,
  STRUCTURAL_PRUNING: 7,
} as const;
export type CommandType = (typeof CommandType)[keyof typeof CommandType];

/** Operation carried by a seed command. */
export const SeedOperation = {
  UNKNOWN: 0,
  GERMINATE: 1,
  START_TRAINING: 2,
  START_GRAFTING: 3,
  STABILIZE: 4,
  EVALUATE: 5,
  FINE_TUNE: 6,
  FOSSILIZE: 7,
  CULL: 8,
  CANCEL: 9,
} as const;
export type SeedOperation = (typeof SeedOperation)[keyof typeof SeedOperation];

/** Delivery priority of a message. */
export const MessagePriority = { UNSPECIFIED: 0, LOW: 1, NORMAL: 2, HIGH: 3, CRITICAL: 4 } as const;
export type MessagePriority = (typeof MessagePriority)[keyof typeof MessagePriority];

/** Delivery guarantee of an envelope. */
export const DeliveryGuarantee = { UNKNOWN: 0, AT_LEAST_ONCE: 1, AT_MOST_ONCE: 2, EXACTLY_ONCE: 3 } as const;
export type DeliveryGuarantee = (typeof DeliveryGuarantee)[keyof typeof DeliveryGuarantee];

/** Severity of telemetry. */
export const TelemetryLevel = { UNSPECIFIED: 0, INFO: 1, WARNING: 2, ERROR: 3, CRITICAL: 4 } as const;
export type TelemetryLevel = (typeof TelemetryLevel)[keyof typeof TelemetryLevel];

/** Escalation level of an emergency signal. */
export const EmergencyLevel = { UNSPECIFIED: 0, NOTICE: 1, ELEVATED: 2, CONSERVATIVE: 3, HALT: 4 } as const;
export type EmergencyLevel = (typeof EmergencyLevel)[keyof typeof EmergencyLevel];

/** Outcome of a command as judged over its observation window. */
export const FieldReportOutcome = {
  UNSPECIFIED: 0,
  SUCCESS: 1,
  NEUTRAL: 2,
  REGRESSION: 3,
  ABORTED: 4,
} as const;
export type FieldReportOutcome = (typeof FieldReportOutcome)[keyof typeof FieldReportOutcome];

/** Risk tier of a blueprint. */
export const BlueprintTier = { UNSPECIFIED: 0, SAFE: 1, EXPERIMENTAL: 2, HIGH_RISK: 3 } as const;
export type BlueprintTier = (typeof BlueprintTier)[keyof typeof BlueprintTier];

/** Type tag of a bus envelope payload. */
export const BusMessageType = {
  UNSPECIFIED: 0,
  SYSTEM_STATE: 1,
  ADAPTATION_COMMAND: 2,
  FIELD_REPORT: 3,
  TELEMETRY: 4,
  POLICY_UPDATE: 5,
  KERNEL_PREFETCH_REQUEST: 6,
  KERNEL_PREFETCH_READY: 7,
  KERNEL_PREFETCH_ERROR: 8,
  KERNEL_CATALOG_UPDATE: 9,
  EMERGENCY_SIGNAL: 10,
  BSDS_ISSUED: 20,
  BSDS_FAILED: 21,
  BENCHMARK_REPORT: 22,
} as const;
export type BusMessageType = (typeof BusMessageType)[keyof typeof BusMessageType];

/** Hazard band of a blueprint safety data sheet. */
export const HazardBand = { UNSPECIFIED: 0, LOW: 1, MEDIUM: 2, HIGH: 3, CRITICAL: 4 } as const;
export type HazardBand = (typeof HazardBand)[keyof typeof HazardBand];

/** Handling class of a blueprint safety data sheet. */
export const HandlingClass = { UNSPECIFIED: 0, STANDARD: 1, RESTRICTED: 2, QUARANTINE: 3 } as const;
export type HandlingClass = (typeof HandlingClass)[keyof typeof HandlingClass];

/** Resource profile of a blueprint. */
export const ResourceProfile = {
  UNSPECIFIED: 0,
  CPU: 1,
  GPU: 2,
  MEMORY_HEAVY: 3,
  IO_HEAVY: 4,
  MIXED: 5,
} as const;
export type ResourceProfile = (typeof ResourceProfile)[keyof typeof ResourceProfile];

/** Provenance of a blueprint safety data sheet. */
export const Provenance = { UNSPECIFIED: 0, URABRASK: 1, CURATED: 2, HEURISTIC: 3, EXTERNAL: 4 } as const;
export type Provenance = (typeof Provenance)[keyof typeof Provenance];

/** How a seed kernel's output is blended into the host at its slot (added by this design). */
export const BlendMode = { UNSPECIFIED: 0, RESIDUAL: 1, CONVEX: 2, CHANNEL: 3, CONFIDENCE: 4 } as const;
export type BlendMode = (typeof BlendMode)[keyof typeof BlendMode];

/** Shape of the alpha ramp while blending (added by this design). */
export const BlendSchedule = { UNSPECIFIED: 0, LINEAR: 1, COSINE: 2, TANH: 3, WARMUP_HOLD: 4 } as const;
export type BlendSchedule = (typeof BlendSchedule)[keyof typeof BlendSchedule];

/** Every enum of the contracts by name, for tests and tooling. */
export const enums = {
  SeedLifecycleStage,
  SeedLifecycleGate,
  HealthStatus,
  CircuitBreakerState,
  CommandType,
  SeedOperation,
  MessagePriority,
  DeliveryGuarantee,
  TelemetryLevel,
  EmergencyLevel,
  FieldReportOutcome,
  BlueprintTier,
  BusMessageType,
  HazardBand,
  HandlingClass,
  ResourceProfile,
  Provenance,
  BlendMode,
  BlendSchedule,
} as const;
