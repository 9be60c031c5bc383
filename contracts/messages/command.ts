import { z } from "zod";
import { SystemLimits } from "../budgets.ts";
import {
  BlendMode,
  BlendSchedule,
  CircuitBreakerState,
  CommandType,
  EmergencyLevel,
  SeedOperation,
} from "../enums.ts";
import {
  boundedNumberMap,
  count,
  enumCode,
  finite,
  float32Array,
  id,
  name,
  nonNegative,
  sha256Hex,
  text,
  timestampMs,
  uint32,
  unit,
} from "../primitives.ts";

/** The alpha ramp of a BLENDING seed: `steps` steps from `start` to `end` along `shape`. */
export const BlendScheduleSpec = z.strictObject({
  shape: enumCode(BlendSchedule, "BlendSchedule"),
  steps: z.number().int().min(1).max(1_000_000),
  start: unit,
  end: unit,
});
export type BlendScheduleSpec = z.infer<typeof BlendScheduleSpec>;

/**
 * Parameters of the confidence-gated blend: gate = sigmoid(k·(top1 − top2 − tau)) over the controller's
 * `logits` (top1, top2: the two largest), alpha clamped to [lo, hi]. Kasmina refuses a CONFIDENCE
 * GERMINATE without logits (`confidence_gate_missing_logits`).
 */
export const ConfidenceGate = z
  .strictObject({
    k: nonNegative,
    tau: nonNegative,
    alphaLo: unit,
    alphaHi: unit,
    logits: float32Array.optional(),
  })
  .refine((g) => g.alphaLo <= g.alphaHi, { message: "alphaLo must be <= alphaHi", path: ["alphaLo"] });
export type ConfidenceGate = z.infer<typeof ConfidenceGate>;

/** A seed operation with its explicit fields (RC1 replaces annotation strings). */
export const CommandSeedOperation = z
  .strictObject({
    kind: z.literal("seed"),
    operation: enumCode(SeedOperation, "SeedOperation"),
    blueprintId: id.optional(),
    blendMode: enumCode(BlendMode, "BlendMode").optional(),
    alpha: unit.optional(),
    alphaVector: float32Array.optional(),
    schedule: BlendScheduleSpec.optional(),
    confidence: ConfidenceGate.optional(),
    resume: z.boolean(),
    includeTeacher: z.boolean(),
    parameters: boundedNumberMap(),
  })
  .superRefine((op, ctx) => {
    if (op.operation === SeedOperation.GERMINATE && op.blueprintId === undefined) {
      ctx.addIssue({ code: "custom", message: "is required for GERMINATE", path: ["blueprintId"] });
    }
    if (op.blendMode === BlendMode.CHANNEL && op.alphaVector === undefined) {
      ctx.addIssue({
        code: "custom",
        message: "is required for the CHANNEL blend mode",
        path: ["alphaVector"],
      });
    }
    if (op.blendMode === BlendMode.CONFIDENCE && op.confidence === undefined) {
      ctx.addIssue({
        code: "custom",
        message: "is required for the CONFIDENCE blend mode",
        path: ["confidence"],
      });
    }
  });
export type CommandSeedOperation = z.infer<typeof CommandSeedOperation>;

/** An optimizer adjustment: at least one typed hyperparameter. */
export const CommandOptimizerAdjustment = z
  .strictObject({
    kind: z.literal("optimizer"),
    optimizerId: id,
    learningRate: z.number().positive().optional(),
    momentum: unit.optional(),
    weightDecay: nonNegative.optional(),
  })
  .refine((o) => o.learningRate !== undefined || o.momentum !== undefined || o.weightDecay !== undefined, {
    message: "must set learningRate, momentum or weightDecay",
    path: ["learningRate"],
  });
export type CommandOptimizerAdjustment = z.infer<typeof CommandOptimizerAdjustment>;

/** A request to move a circuit breaker. */
export const CommandCircuitBreaker = z.strictObject({
  kind: z.literal("circuitBreaker"),
  desiredState: enumCode(CircuitBreakerState, "CircuitBreakerState"),
  rationale: text.min(1, "must not be empty"),
});
export type CommandCircuitBreaker = z.infer<typeof CommandCircuitBreaker>;

/** The typed rollback payload (the original's free-form Struct). */
export const CommandRollback = z.strictObject({
  kind: z.literal("rollback"),
  mode: z.enum(["fast", "full"]),
  toEpoch: count.optional(),
  checkpointId: id.optional(),
  reason: text.min(1, "must not be empty"),
});
export type CommandRollback = z.infer<typeof CommandRollback>;

/** Pause (or resume, with `resume: true`) training of one seed or, without `seedId`, of adaptation. */
export const CommandPause = z.strictObject({
  kind: z.literal("pause"),
  resume: z.boolean(),
  reason: text.min(1, "must not be empty"),
});
export type CommandPause = z.infer<typeof CommandPause>;

/** An emergency escalation addressed to Tolaria. */
export const CommandEmergency = z.strictObject({
  kind: z.literal("emergency"),
  level: enumCode(EmergencyLevel, "EmergencyLevel"),
  reason: text.min(1, "must not be empty"),
});
export type CommandEmergency = z.infer<typeof CommandEmergency>;

/** Structural pruning of a share of the host's parameters. */
export const CommandStructuralPruning = z.strictObject({
  kind: z.literal("structuralPruning"),
  targetRatio: unit,
});
export type CommandStructuralPruning = z.infer<typeof CommandStructuralPruning>;

/** The payload of a command; its `kind` must match the command type. */
export const CommandPayload = z.discriminatedUnion("kind", [
  CommandSeedOperation,
  CommandOptimizerAdjustment,
  CommandCircuitBreaker,
  CommandRollback,
  CommandPause,
  CommandEmergency,
  CommandStructuralPruning,
]);
export type CommandPayload = z.infer<typeof CommandPayload>;

/** The payload kind each command type requires. */
export const payloadKindOf: Readonly<Record<Exclude<CommandType, 0>, CommandPayload["kind"]>> = {
  [CommandType.SEED]: "seed",
  [CommandType.ROLLBACK]: "rollback",
  [CommandType.OPTIMIZER]: "optimizer",
  [CommandType.CIRCUIT_BREAKER]: "circuitBreaker",
  [CommandType.PAUSE]: "pause",
  [CommandType.EMERGENCY]: "emergency",
  [CommandType.STRUCTURAL_PRUNING]: "structuralPruning",
};

/**
 * Signing block: HMAC-SHA256 (base64) over the canonical encoding of the command with `signature: ""`.
 * The empty signature is the form that is signed; the contract accepts it so that the verifier (not the
 * codec) rejects an unsigned command as `missing_signature` with CRITICAL telemetry.
 */
export const CommandSecurity = z.strictObject({
  signature: z
    .string()
    .regex(/^[A-Za-z0-9+/]{43}=$/, "must be a base64 HMAC-SHA256 digest")
    .or(z.literal("")),
  nonce: id,
  issuedAt: timestampMs,
  freshnessWindowMs: z.number().int().min(1).max(SystemLimits.maxCommandFreshnessMs),
});
export type CommandSecurity = z.infer<typeof CommandSecurity>;

/**
 * Typed decision metadata (RC1 replaces the annotation map). `paramDelta`, `valueEstimate` and the
 * risk class `index` come from a learned policy and risk head; a rule policy leaves them out.
 */
export const DecisionMetadata = z.strictObject({
  policy: z.strictObject({
    version: name,
    digest: sha256Hex,
    action: name,
    paramDelta: finite.optional(),
    valueEstimate: finite.optional(),
    latencyMs: nonNegative,
  }),
  risk: z.strictObject({ reason: name, score: unit, index: uint32.optional() }),
  blend: z.strictObject({ methodIndex: uint32, scheduleStart: unit, scheduleEnd: unit }).optional(),
  coverage: z.strictObject({ featureCoverage: unit, byType: boundedNumberMap() }),
  selection: z.strictObject({ seedIndex: uint32, seedScore: finite, blueprintIndex: uint32 }).optional(),
});
export type DecisionMetadata = z.infer<typeof DecisionMetadata>;

/** A signed instruction from Tamiyo to Kasmina or Tolaria. */
export const AdaptationCommand = z
  .strictObject({
    version: uint32,
    commandId: id,
    commandType: enumCode(CommandType, "CommandType"),
    trainingRunId: id,
    targetSeedId: id.optional(),
    executionDeadlineMs: uint32,
    issuedBy: name,
    payload: CommandPayload,
    decision: DecisionMetadata.optional(),
    security: CommandSecurity,
  })
  .superRefine((c, ctx) => {
    const expected = payloadKindOf[c.commandType];
    if (c.payload.kind !== expected) {
      ctx.addIssue({
        code: "custom",
        message: `must be '${expected}' for this commandType`,
        path: ["payload", "kind"],
      });
    }
    if (c.commandType === CommandType.SEED && c.targetSeedId === undefined) {
      ctx.addIssue({ code: "custom", message: "is required for SEED commands", path: ["targetSeedId"] });
    }
  });
export type AdaptationCommand = z.infer<typeof AdaptationCommand>;
