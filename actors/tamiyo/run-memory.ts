import type { SystemStatePacket } from "../../contracts/index.ts";
import { UnknownTargetError } from "./errors.ts";
import { initialRiskState, type RunRiskState } from "./risk/risk-types.ts";

/** The validation loss Tolaria reported for one epoch. */
export interface EpochLoss {
  readonly epoch: number;
  readonly loss: number;
}

/** A germination Tamiyo commanded. */
export interface Germination {
  readonly epoch: number;
  readonly seedId: string;
  readonly blueprintId: string;
}

/**
 * What Tamiyo remembers about one training run between packets. Immutable: every update returns a
 * new value, so the same packets give the same memory (replay).
 */
export interface RunMemory {
  readonly trainingRunId: string;
  /** Validation losses since the last germination (its epoch included), oldest first, one per epoch. */
  readonly losses: readonly EpochLoss[];
  readonly lastGermination: Germination | undefined;
  /** The risk engine's state of the run (conservative mode, previous packet). */
  readonly risk: RunRiskState;
}

/** The memory of a run Tamiyo has not seen yet. */
export function emptyRunMemory(trainingRunId: string): RunMemory {
  return { trainingRunId, losses: [], lastGermination: undefined, risk: initialRiskState };
}

/**
 * Adds the packet's validation loss for its epoch. Losses of that epoch or later are dropped first, so
 * a redelivered packet is idempotent and a rollback to an earlier epoch forgets the epochs undone.
 * Throws UnknownTargetError when the packet belongs to another run.
 */
export function observePacket(memory: RunMemory, packet: SystemStatePacket): RunMemory {
  if (packet.trainingRunId !== memory.trainingRunId) {
    throw new UnknownTargetError(
      "trainingRun",
      packet.trainingRunId,
      `the memory of run '${memory.trainingRunId}'`,
    );
  }
  const kept = memory.losses.filter((l) => l.epoch < packet.currentEpoch);
  return { ...memory, losses: [...kept, { epoch: packet.currentEpoch, loss: packet.validationLoss }] };
}

/**
 * Records a commanded germination. The plateau window restarts at its epoch: the next germination
 * needs a fresh plateau measured from the loss at this epoch.
 */
export function recordGermination(memory: RunMemory, germination: Germination): RunMemory {
  return {
    ...memory,
    losses: memory.losses.filter((l) => l.epoch >= germination.epoch),
    lastGermination: germination,
  };
}
