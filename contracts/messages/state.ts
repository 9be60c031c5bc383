import { z } from "zod";
import { SystemLimits } from "../budgets.ts";
import { SeedLifecycleStage } from "../enums.ts";
import {
  boundedNumberMap,
  count,
  enumCode,
  finite,
  id,
  name,
  nonNegative,
  timestampMs,
  uint32,
  unit,
} from "../primitives.ts";

/**
 * Where training runs (device facts reported by Tolaria). `temperatureCelsius` is present only when the
 * machine exposes a reading; `computeCapability` only for a GPU. Neither is ever a placeholder.
 */
export const HardwareContext = z.strictObject({
  deviceType: name,
  deviceId: id,
  totalMemoryGb: nonNegative,
  availableMemoryGb: nonNegative,
  temperatureCelsius: finite.optional(),
  utilizationPercent: z.number().min(0).max(100),
  computeCapability: uint32.optional(),
});
export type HardwareContext = z.infer<typeof HardwareContext>;

/**
 * The state of one seed slot as seen by Tamiyo: the slot (id and width, from the host's layout) and
 * the seed in it. A DORMANT seed is an empty slot that can be germinated.
 */
export const SeedState = z.strictObject({
  seedId: id,
  slotId: id,
  slotWidth: z.number().int().min(1).max(65_536),
  stage: enumCode(SeedLifecycleStage, "SeedLifecycleStage"),
  blueprintId: id.optional(),
  gradientNorm: nonNegative,
  learningRate: nonNegative,
  layerDepth: uint32,
  alpha: unit,
  ageEpochs: uint32,
  riskScore: unit,
  metrics: boundedNumberMap(),
});
export type SeedState = z.infer<typeof SeedState>;

/** Typed training metrics of a state packet (RC1 replaces the free-form map); `extra` is bounded. */
export const TrainingMetrics = z.strictObject({
  loss: finite,
  accuracy: unit,
  gradientNorm: nonNegative,
  learningRate: nonNegative,
  lossDelta: finite,
  lossEwma: finite,
  lossVolatility: nonNegative,
  gradNormEwma: nonNegative,
  gradConflictRate: unit,
  samplesPerSecond: nonNegative,
  epochDurationMs: nonNegative,
  epochsTotal: uint32,
  /** Mean wall time of one training step over the epoch (directives, forward/backward, update). */
  stepLatencyMs: nonNegative,
  /** Wall time the epoch spent applying Kasmina's seed directives at step boundaries. */
  kasminaLatencyMs: nonNegative,
  /** Round trip of the last Tamiyo decision request; absent until one was made. */
  tamiyoLatencyMs: nonNegative.optional(),
  /** Wall time of the previous epoch boundary (validation, packet, publish, Tamiyo); absent at the first. */
  hookLatencyMs: nonNegative.optional(),
  /** Optimizer family ("sgd", "adamw"), its momentum (SGD momentum or Adam β1). */
  optimizerFamily: name,
  momentum: unit,
  /** Resident set size and V8 heap in use of the training process at assembly. */
  memoryRssBytes: count,
  heapUsedBytes: count,
  extra: boundedNumberMap(),
});
export type TrainingMetrics = z.infer<typeof TrainingMetrics>;

/** The per-epoch state of training that Tolaria sends to Tamiyo. Timestamps are epoch milliseconds. */
export const SystemStatePacket = z.strictObject({
  version: uint32,
  packetId: id,
  trainingRunId: id,
  experimentName: name,
  sourceSubsystem: name,
  currentEpoch: uint32,
  globalStep: count,
  timestampMs,
  validationAccuracy: unit,
  validationLoss: finite,
  trainingLoss: finite,
  hardwareContext: HardwareContext,
  trainingMetrics: TrainingMetrics,
  seedStates: z.array(SeedState).max(SystemLimits.maxSeedStatesPerPacket),
});
export type SystemStatePacket = z.infer<typeof SystemStatePacket>;
