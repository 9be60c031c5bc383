import type { SeedLifecycleStage } from "../../contracts/enums.ts";
import type { BlendScheduleSpec } from "../../contracts/messages/command.ts";
import type { BlendMode, ConfidenceGate } from "../../nn/model/slots.ts";
import type { TrainingSnapshot } from "../../nn/optim/training-snapshot.ts";
import type { RngState } from "../../nn/rng.ts";
import type { EpochFigures } from "./state-packet.ts";

/** A live seed as a snapshot holds it: enough to graft it again with the same wiring. */
export interface SnapshotSeed {
  readonly seedId: string;
  readonly slotId: string;
  readonly stage: SeedLifecycleStage;
  readonly blend: BlendMode;
  readonly gate: ConfidenceGate | undefined;
  /** α of the slot when the seed is BLENDING with a fed α. */
  readonly alpha: number | undefined;
  /** The kernel artifact's bytes and sha256, for the re-graft. */
  readonly artifact: Uint8Array;
  readonly sha256: string;
  readonly blueprintId: string;
  readonly graftEpoch: number;
  readonly schedule: { readonly spec: BlendScheduleSpec; readonly step: number } | undefined;
  readonly stepsSinceReport: number;
  readonly lastGradientNorm: number;
  /** Sums of the per-step gradient measures since the seed's last report. */
  readonly window: Readonly<SeedWindow>;
  readonly alphaVector: Float32Array | undefined;
}

/** Sums of a seed's per-step gradient measures since its last report. */
export interface SeedWindow {
  interfaceGradientNorm: number;
  gradientShare: number;
  gradientCosine: number;
  conflicts: number;
  conflictRatio: number;
  steps: number;
}

/** Sums over the steps of the current epoch. */
export interface EpochAccumulator {
  readonly startedAt: number;
  lossSum: number;
  gradNormSum: number;
  correct: number;
  samples: number;
  steps: number;
  stepMsSum: number;
  directiveMsSum: number;
  conflictRatioSum: number;
  aggregatedSteps: number;
}

/** The trainer's counters and trackers at a step boundary. */
export interface TrainerProgress {
  readonly epochIndex: number;
  readonly stepInEpoch: number;
  readonly steps: number;
  readonly acc: Readonly<EpochAccumulator> | undefined;
  /** The PCGrad shuffle stream's state. */
  readonly pcgradRng: RngState;
  readonly lossEwma: number | undefined;
  readonly lossVariance: number;
  readonly gradNormEwma: number | undefined;
  readonly previousEpochLoss: number | undefined;
  readonly lastFigures: EpochFigures | undefined;
  /** Grafts per slot so far (names the next free seed). */
  readonly generations: readonly (readonly [string, number])[];
}

/**
 * Everything a rollback puts back: parameters and optimizer state, the seed set with its wiring, the
 * trainer's progress. The data order needs no RNG state (an epoch's order is a fork of the shuffle
 * stream by epoch number); the PCGrad shuffle stream's state is in the progress.
 */
export interface TrainerSnapshot {
  readonly training: TrainingSnapshot<object>;
  readonly seeds: readonly SnapshotSeed[];
  readonly progress: TrainerProgress;
}

/** Bytes a snapshot holds in typed arrays (parameters, optimizer state, kernel artifacts). */
export function snapshotBytes(snap: TrainerSnapshot): number {
  let bytes = 0;
  for (const t of snap.training.params.tensors.values()) bytes += t.data.byteLength;
  bytes += optimizerBytes(snap.training.optimizer);
  for (const s of snap.seeds) bytes += s.artifact.byteLength + (s.alphaVector?.byteLength ?? 0);
  return bytes;
}

function optimizerBytes(value: unknown): number {
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value instanceof Map) {
    let n = 0;
    for (const v of value.values()) n += optimizerBytes(v);
    return n;
  }
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + optimizerBytes(v), 0);
  if (typeof value === "object" && value !== null)
    return Object.values(value).reduce((n: number, v) => n + optimizerBytes(v), 0);
  return 0;
}

/**
 * The id tag of a timeline: "" before any restore, `-t<n>` after the n-th. A rollback trains the same
 * epochs and steps again; the tag keeps their packet and report ids (the streams' `Nats-Msg-Id`, hence
 * their deduplication) apart from the discarded ones.
 */
export function timelineTag(timeline: number): string {
  return timeline === 0 ? "" : `-t${timeline}`;
}
