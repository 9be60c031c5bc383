/** Parameters and optimizer state snapshotted and restored together (fast rollback). */
import type { ParameterStore, ParamSnapshot } from "../params/store.ts";
import type { Optimizer, OptimizerSnapshot } from "./optimizer.ts";

/** Parameter values plus optimizer state at one point of training. */
export interface TrainingSnapshot<H extends object> {
  readonly params: ParamSnapshot;
  readonly optimizer: OptimizerSnapshot<H>;
}

/** Copies parameters and optimizer state (reusing `reuse`'s buffers when the layout still matches). */
export function takeTrainingSnapshot<H extends object>(
  store: ParameterStore,
  optimizer: Optimizer<H>,
  reuse?: TrainingSnapshot<H>,
): TrainingSnapshot<H> {
  return {
    params: store.snapshot(reuse?.params),
    optimizer: optimizer.snapshot(reuse?.optimizer),
  };
}

/**
 * Copies both halves into the live buffers (no allocation; the snapshot stays unaliased). Both halves
 * are checked before anything is written, so a rejected snapshot leaves parameters and optimizer as
 * they were: the parameter half is checked first, then `Optimizer.restore` checks all of its half
 * before writing it.
 */
export function restoreTrainingSnapshot<H extends object>(
  store: ParameterStore,
  optimizer: Optimizer<H>,
  snap: TrainingSnapshot<H>,
): void {
  store.checkSnapshot(snap.params);
  optimizer.restore(snap.optimizer);
  store.restore(snap.params);
}
