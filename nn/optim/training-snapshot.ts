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

/** Restores both halves; if the optimizer half is rejected, the parameters are put back as they were. */
export function restoreTrainingSnapshot<H extends object>(
  store: ParameterStore,
  optimizer: Optimizer<H>,
  snap: TrainingSnapshot<H>,
): void {
  const paramsBefore = store.snapshot();
  store.restore(snap.params);
  try {
    optimizer.restore(snap.optimizer);
  } catch (err) {
    store.restore(paramsBefore);
    throw err;
  }
}
