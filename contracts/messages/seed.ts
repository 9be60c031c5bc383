import { z } from "zod";
import { BlendMode, SeedLifecycleStage } from "../enums.ts";
import {
  count,
  enumCode,
  finite,
  float32Array,
  id,
  nonNegative,
  sha256Hex,
  timestampMs,
  uint32,
  unit,
} from "../primitives.ts";
import { BlendScheduleSpec, ConfidenceGate } from "./command.ts";

/** The `sequence` of a seed's first directive. */
export const FIRST_DIRECTIVE_SEQUENCE = 0;

/** The kernel artifact a directive grafts, addressed in the kernel object store. */
export const KernelRef = z.strictObject({ blueprintId: id, artifactRef: id, checksum: sha256Hex });
export type KernelRef = z.infer<typeof KernelRef>;

/**
 * Kasmina → Tolaria: what to do at a slot at the next step boundary. `graft` wires a kernel,
 * `update` changes stage/blend without recompiling unless the wiring changes, `remove` drops it.
 * `sequence` starts at {@link FIRST_DIRECTIVE_SEQUENCE} and increases by one per seed, so Tolaria
 * applies directives in order and detects gaps.
 */
export const SeedDirective = z
  .strictObject({
    directiveId: id,
    trainingRunId: id,
    seedId: id,
    slotId: id,
    sequence: count,
    action: z.enum(["graft", "update", "remove"]),
    stage: enumCode(SeedLifecycleStage, "SeedLifecycleStage"),
    kernel: KernelRef.optional(),
    blendMode: enumCode(BlendMode, "BlendMode"),
    alpha: unit,
    alphaVector: float32Array.optional(),
    schedule: BlendScheduleSpec.optional(),
    confidence: ConfidenceGate.optional(),
    learningRate: nonNegative.optional(),
    includeTeacher: z.boolean(),
    commandId: id.optional(),
    issuedAt: timestampMs,
  })
  .refine((d) => d.action !== "graft" || d.kernel !== undefined, {
    message: "is required when action is 'graft'",
    path: ["kernel"],
  });
export type SeedDirective = z.infer<typeof SeedDirective>;

/**
 * Tolaria → Kasmina: how a live seed trained over the last reporting interval. `loss` is the model's
 * loss with the seed wired as its stage says, `hostLoss` the loss of the same batches with the seed's
 * slot as identity, and `lossDelta` = `loss − hostLoss` (negative: the seed helps).
 */
export const SeedReport = z.strictObject({
  reportId: id,
  trainingRunId: id,
  seedId: id,
  stage: enumCode(SeedLifecycleStage, "SeedLifecycleStage"),
  epoch: uint32,
  globalStep: count,
  steps: uint32,
  alpha: unit,
  loss: finite,
  hostLoss: finite,
  lossDelta: finite,
  seedGradientNorm: nonNegative,
  hostGradientNorm: nonNegative,
  gradientCosine: z.number().min(-1).max(1),
  isolationLeak: nonNegative,
  /**
   * Means over the `steps` of the window: ‖∂L/∂h‖ along the seed path at its slot's input
   * (`interfaceGradientNorm`), its share of all paths' norms there and at the other wired slots
   * (`gradientShare`); `conflicts` is the PCGrad projections the seed's contribution to the shared host
   * parameters needed in the window, `conflictRatio` their mean per step over max(1, n − 1).
   */
  interfaceGradientNorm: nonNegative,
  gradientShare: unit,
  conflicts: uint32,
  conflictRatio: unit,
  parameterCount: count,
  nonFiniteGradients: z.boolean(),
  issuedAt: timestampMs,
});
export type SeedReport = z.infer<typeof SeedReport>;
