import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CheckpointStore } from "../../actors/tolaria/checkpoints.ts";
import { SnapshotRing } from "../../actors/tolaria/snapshot-ring.ts";
import { Trainer } from "../../actors/tolaria/trainer.ts";
import { snapshotBytes, type TrainerSnapshot } from "../../actors/tolaria/trainer-snapshot.ts";
import { fashionMnistGrowthPreset } from "../../nn/presets/fashion-mnist-growth.ts";
import type { JobPreset } from "../../nn/presets/job-preset.ts";
import { loadPresetData } from "../../nn/presets/preset-run.ts";
import { againstGoal, type GoalFigure, latencyFigure, TOLARIA_GOALS } from "./tolaria-summary.ts";

/**
 * The Fashion-MNIST job on a 784-1024-256-10 ReLU MLP (1 068 810 parameters) with its slot after the
 * 256-unit layer: the 1M-parameter host the restore goals are stated for.
 */
export const millionParameterPreset: JobPreset = {
  ...fashionMnistGrowthPreset,
  name: "fashion-mnist-1m",
  host: {
    inputWidth: 784,
    layers: [
      { kind: "linear", name: "fc1", out: 1024 },
      { kind: "activation", fn: "relu" },
      { kind: "linear", name: "fc2", out: 256 },
      { kind: "activation", fn: "relu" },
      { kind: "slot", slotId: "s1" },
      { kind: "linear", name: "fc3", out: 10 },
    ],
    loss: "softmaxCrossEntropy",
  },
  blueprint: { kind: "wide-single-layer", inputWidth: 256, hiddenWidth: 1024, initSeed: 1 },
};

/** What the restore section reports. */
export interface RestoreSection {
  readonly job: string;
  readonly parameterCount: number;
  /** Bytes a ring snapshot holds (parameters and AdamW state). */
  readonly snapshotBytes: number;
  /** Bytes of the checkpoint file. */
  readonly checkpointBytes: number;
  /** Ring lookup + Trainer.restore (parameters, optimizer state, seeds, progress), in ms. */
  readonly fastMs: GoalFigure;
  /** CheckpointStore.load (read, size and sha256 check, decode) + Trainer.restore, in ms. */
  readonly fullMs: GoalFigure;
}

/**
 * Trains the 1M-parameter host `warmSteps` steps (so AdamW has its moments), snapshots it into a ring
 * and a checkpoint directory, then times `n` fast and `n` full restores.
 */
export async function benchRestore(n: number, warmSteps = 2): Promise<RestoreSection> {
  const preset = millionParameterPreset;
  const trainer = new Trainer({
    preset,
    data: await loadPresetData(preset),
    trainingRunId: "bench-tolaria",
    fetchKernel: async () => {
      throw new Error("the restore bench grafts no seed");
    },
    reportEverySteps: 10,
    intraOpNumThreads: 1,
    now: () => Date.now(),
    pcgrad: false,
  });
  const dir = await mkdtemp(join(tmpdir(), "esper-bench-tolaria-"));
  try {
    for (let i = 0; i < warmSteps; i++) await trainer.step();
    const snap = trainer.snapshot();
    const bytes = snapshotBytes(snap);
    const ring = new SnapshotRing<TrainerSnapshot>(bytes);
    ring.add(snap.progress.steps, bytes, snap);
    const fast: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const entry = ring.atOrBefore(snap.progress.steps);
      if (entry === undefined) throw new Error("the ring lost its snapshot");
      trainer.restore(entry.value);
      fast.push(performance.now() - t0);
    }
    const store = await CheckpointStore.open(dir, 1);
    const written = await store.write(snap, snap.progress.epochIndex, Date.now());
    const full: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const { snapshot } = await store.load(written.id);
      trainer.restore(snapshot);
      full.push(performance.now() - t0);
    }
    return {
      job: preset.name,
      parameterCount: trainer.parameterCount,
      snapshotBytes: bytes,
      checkpointBytes: written.bytes,
      fastMs: againstGoal(latencyFigure("fast restores", fast), TOLARIA_GOALS.fastRestoreP95Ms),
      fullMs: againstGoal(latencyFigure("full restores", full), TOLARIA_GOALS.fullRestoreP95Ms),
    };
  } finally {
    await trainer.release();
    await rm(dir, { recursive: true, force: true });
  }
}
