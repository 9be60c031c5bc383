import { performance } from "node:perf_hooks";
import { validate } from "../../contracts/codec.ts";
import type { SeedLifecycleStage } from "../../contracts/enums.ts";
import type { HardwareContext, SystemStatePacket } from "../../contracts/messages/state.ts";
import { timelineTag } from "./trainer-snapshot.ts";

/** Training figures of one finished epoch (`Trainer.epochFigures`). */
export interface EpochFigures {
  readonly epoch: number;
  /** Steps completed at the end of the epoch. */
  readonly globalStep: number;
  /** Mean step loss over the epoch. */
  readonly loss: number;
  /** Fraction of the epoch's training samples classified right (before each step's update). */
  readonly accuracy: number;
  /** Mean global gradient norm of the epoch's steps. */
  readonly gradientNorm: number;
  /** `loss` minus the previous epoch's (0 for the first epoch: nothing to compare with). */
  readonly lossDelta: number;
  /** EWMA (weight 0.2, the reference's) of the step losses at the end of the epoch. */
  readonly lossEwma: number;
  /** Square root of the exponentially weighted variance of the step losses. */
  readonly lossVolatility: number;
  /** EWMA (weight 0.2) of the step gradient norms. */
  readonly gradNormEwma: number;
  readonly samples: number;
  /** Wall time of the epoch's steps (directive application included). */
  readonly durationMs: number;
  /** Mean wall time of a step. */
  readonly stepLatencyMs: number;
  /** Time spent applying seed directives over the epoch. */
  readonly kasminaLatencyMs: number;
  /** Mean PCGrad conflict ratio over the steps that had ≥ 2 contributions (0 when none had). */
  readonly gradConflictRate: number;
}

/** Figures of the previous epoch boundary, measured by the training loop; absent before the first. */
export interface BoundaryLatencies {
  readonly tamiyoLatencyMs?: number;
  readonly hookLatencyMs?: number;
}

/** The run's safety state at the boundary, carried in `trainingMetrics.extra` (the contract has no typed field). */
export interface RunControlState {
  /** Tamiyo is skipped this epoch (the breaker is open). */
  readonly conservativeMode: boolean;
  /** EmergencyLevel code. */
  readonly emergencyLevel: number;
  /** CircuitBreakerState code. */
  readonly breakerState: number;
}

/** The `trainingMetrics.extra` keys of {@link RunControlState} (conservativeMode 1 or 0). */
export const RUN_CONTROL_EXTRA = {
  conservativeMode: "conservativeMode",
  emergencyLevel: "emergencyLevel",
  breakerState: "breakerState",
} as const;

/** One slot of the host layout and the seed in it (a DORMANT seed when the slot is free). */
export interface SlotState {
  readonly slotId: string;
  readonly slotWidth: number;
  /** Index of the slot's layer in the host spec. */
  readonly layerDepth: number;
  /** The live seed's id, or for a free slot `<slotId>-g<n>`, n the grafts the slot has had. */
  readonly seedId: string;
  readonly stage: SeedLifecycleStage;
  readonly alpha: number;
  readonly blueprintId?: string;
  /** The seed's gradient norm at the last step (0 without parameters in the training graph). */
  readonly gradientNorm: number;
  readonly learningRate: number;
  /** Epochs finished since the graft. */
  readonly ageEpochs: number;
}

/** Everything a state packet is assembled from. */
export interface StatePacketInput {
  readonly trainingRunId: string;
  readonly experimentName: string;
  readonly epochsTotal: number;
  readonly learningRate: number;
  readonly optimizer: { readonly family: string; readonly momentum: number };
  readonly boundary: BoundaryLatencies;
  readonly control: RunControlState;
  /** Restores the trainer has had (`timelineTag` in the packet id). */
  readonly timeline: number;
  /** Parameters of the model (host and live seeds) at the end of the epoch. */
  readonly parameterCount: number;
  readonly figures: EpochFigures;
  readonly validation: { readonly loss: number; readonly accuracy: number };
  readonly hardware: HardwareContext;
  readonly slots: readonly SlotState[];
  readonly timestampMs: number;
}

/** The packet and the time its assembly and validation took. */
export interface AssembledPacket {
  readonly packet: SystemStatePacket;
  readonly assemblyMs: number;
}

/** The `trainingMetrics.extra` key of the model's parameter count (the contract has no typed field for it). */
export const PARAMETER_COUNT_EXTRA = "parameterCount";

/** Version of the SystemStatePacket layout Tolaria sends. */
export const STATE_PACKET_VERSION = 1;

/**
 * The epoch's SystemStatePacket: typed TrainingMetrics and one SeedState per slot, validated against
 * the contract (ContractError naming the field) before it is returned. The model's parameter count goes
 * in `trainingMetrics.extra.parameterCount`, the run's control state in `RUN_CONTROL_EXTRA`. Memory is read at assembly (`process.memoryUsage`).
 * `riskScore` is 0: Tolaria has no risk model.
 */
export function assembleStatePacket(input: StatePacketInput): AssembledPacket {
  const started = performance.now();
  const { figures: f, boundary: b } = input;
  const memory = process.memoryUsage();
  const packet = validate("SystemStatePacket", {
    version: STATE_PACKET_VERSION,
    packetId: `${input.trainingRunId}-epoch-${f.epoch}${timelineTag(input.timeline)}`,
    trainingRunId: input.trainingRunId,
    experimentName: input.experimentName,
    sourceSubsystem: "tolaria",
    currentEpoch: f.epoch,
    globalStep: f.globalStep,
    timestampMs: input.timestampMs,
    validationAccuracy: input.validation.accuracy,
    validationLoss: input.validation.loss,
    trainingLoss: f.loss,
    hardwareContext: input.hardware,
    trainingMetrics: {
      loss: f.loss,
      accuracy: f.accuracy,
      gradientNorm: f.gradientNorm,
      learningRate: input.learningRate,
      lossDelta: f.lossDelta,
      lossEwma: f.lossEwma,
      lossVolatility: f.lossVolatility,
      gradNormEwma: f.gradNormEwma,
      gradConflictRate: f.gradConflictRate,
      samplesPerSecond: f.durationMs > 0 ? (f.samples * 1000) / f.durationMs : 0,
      epochDurationMs: f.durationMs,
      epochsTotal: input.epochsTotal,
      stepLatencyMs: f.stepLatencyMs,
      kasminaLatencyMs: f.kasminaLatencyMs,
      ...(b.tamiyoLatencyMs === undefined ? {} : { tamiyoLatencyMs: b.tamiyoLatencyMs }),
      ...(b.hookLatencyMs === undefined ? {} : { hookLatencyMs: b.hookLatencyMs }),
      optimizerFamily: input.optimizer.family,
      momentum: input.optimizer.momentum,
      memoryRssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      extra: {
        [PARAMETER_COUNT_EXTRA]: input.parameterCount,
        [RUN_CONTROL_EXTRA.conservativeMode]: input.control.conservativeMode ? 1 : 0,
        [RUN_CONTROL_EXTRA.emergencyLevel]: input.control.emergencyLevel,
        [RUN_CONTROL_EXTRA.breakerState]: input.control.breakerState,
      },
    },
    seedStates: input.slots.map((s) => ({
      seedId: s.seedId,
      slotId: s.slotId,
      slotWidth: s.slotWidth,
      stage: s.stage,
      ...(s.blueprintId === undefined ? {} : { blueprintId: s.blueprintId }),
      gradientNorm: s.gradientNorm,
      learningRate: s.learningRate,
      layerDepth: s.layerDepth,
      alpha: s.alpha,
      ageEpochs: s.ageEpochs,
      riskScore: 0,
      metrics: {},
    })),
  });
  return { packet, assemblyMs: performance.now() - started };
}
