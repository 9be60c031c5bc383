import { SeedLifecycleStage } from "../../contracts/enums.ts";
import { buildBlueprint } from "../blueprints/artifact.ts";
import { BatchIterator } from "../data/batches.ts";
import { type Dataset, splitDataset } from "../data/dataset.ts";
import { loadFashionMnist } from "../data/fashion-mnist.ts";
import { spirals } from "../data/spirals.ts";
import { argmaxAccuracy } from "../model/accuracy.ts";
import { ModelRunner } from "../model/runner.ts";
import { SeedRegistry } from "../model/seed-registry.ts";
import type { BlendMode } from "../model/slots.ts";
import { layoutOf } from "../model/spec.ts";
import { AdamW } from "../optim/adamw.ts";
import type { Optimizer } from "../optim/optimizer.ts";
import { Sgd } from "../optim/sgd.ts";
import { ParameterStore } from "../params/store.ts";
import { createRng } from "../rng.ts";
import type { JobPreset } from "./job-preset.ts";

/** Train and validation sets of a preset. */
export interface PresetData {
  readonly train: Dataset;
  readonly validation: Dataset;
}

/** Builds (spirals) or loads (Fashion-MNIST) the data of a preset. */
export async function loadPresetData(preset: JobPreset): Promise<PresetData> {
  const d = preset.dataset;
  if (d.kind === "spirals") {
    const rng = createRng(d.seed);
    const all = spirals({
      n: d.n,
      classes: d.classes,
      turns: d.turns,
      noise: d.noise,
      rng: rng.fork("points"),
    });
    const { train, validation } = splitDataset(
      all,
      { validation: d.validationFraction, test: 0 },
      rng.fork("split"),
    );
    return { train, validation };
  }
  const [train, validation] = await Promise.all([
    loadFashionMnist({ split: "train", normalize: d.normalize }),
    loadFashionMnist({ split: "test", normalize: d.normalize }),
  ]);
  return { train, validation };
}

/** One epoch of a preset run: the seed's stage at its end, mean training loss, validation accuracy. */
export interface EpochRecord {
  readonly epoch: number;
  /** Stage of the seed at the end of the epoch (UNKNOWN while no seed is grafted). */
  readonly stage: SeedLifecycleStage;
  readonly trainLoss: number;
  readonly validationAccuracy: number;
}

/**
 * A seed schedule scripted by hand for `runPreset` (in the actors, Tamiyo and Kasmina decide it from
 * the training): graft at the start of epoch `graftEpoch` straight into TRAINING (incubator), BLENDING
 * after `trainingEpochs` epochs with α rising linearly to 1 over `blendingSteps` steps, then fully
 * active (SHADOWING → PROBATIONARY → FOSSILIZED) to the end.
 */
export interface ScriptedSchedule {
  readonly graftEpoch: number;
  readonly trainingEpochs: number;
  readonly blendingSteps: number;
  readonly blend: BlendMode;
}

/** Result of `runPreset`. */
export interface PresetRun {
  readonly epochs: readonly EpochRecord[];
  /** Sessions compiled over the run. */
  readonly compiledSessions: number;
}

/** The optimizer a preset names, over `store`. */
export function optimizerOf(preset: JobPreset, store: ParameterStore): Optimizer<object> {
  const o = preset.optimizer;
  return o.kind === "adamw"
    ? new AdamW(store, { lr: o.lr, weightDecay: o.weightDecay })
    : new Sgd(store, { lr: o.lr, momentum: o.momentum });
}

/**
 * Trains a preset in process, through a `SeedRegistry`, grafting its blueprint on `schedule` (the
 * host alone when `schedule` is undefined), and validates after every epoch. Deterministic for a preset
 * and schedule.
 */
export async function runPreset(
  preset: JobPreset,
  data: PresetData,
  options: { readonly schedule: ScriptedSchedule | undefined; readonly intraOpNumThreads: number },
): Promise<PresetRun> {
  const { host } = preset;
  const stages = options.schedule;
  if (host.loss !== "softmaxCrossEntropy")
    throw new Error(`preset '${preset.name}': host loss must be softmaxCrossEntropy`);
  const rng = createRng(preset.initSeed);
  const store = new ParameterStore(rng.fork("init"));
  for (const p of layoutOf(host).params) store.add(p.name, p.shape, p.init);
  const runner = new ModelRunner(host, store, { intraOpNumThreads: options.intraOpNumThreads });
  const optimizer = optimizerOf(preset, store);
  optimizer.addGroup("host", store.names());
  const registry = new SeedRegistry(runner, optimizer);
  const batches = new BatchIterator(data.train, {
    batchSize: preset.batchSize,
    shuffle: rng.fork("shuffle"),
    lastBatch: "drop",
    labels: "int32",
  });
  if (preset.stepsPerEpoch > batches.batchesPerEpoch) {
    throw new Error(
      `preset '${preset.name}': stepsPerEpoch ${preset.stepsPerEpoch} exceeds the ${batches.batchesPerEpoch} batches of an epoch`,
    );
  }
  const seedId = "seed-0";
  let stage = SeedLifecycleStage.UNKNOWN as SeedLifecycleStage;
  let blendStep = 0;
  const move = (to: SeedLifecycleStage): void => {
    registry.setStage(seedId, to);
    stage = to;
  };
  const epochs: EpochRecord[] = [];
  const validation = { x: data.validation.x, target: data.validation.y, batchSize: data.validation.n };
  try {
    for (let epoch = 0; epoch < preset.epochs; epoch++) {
      if (stages !== undefined && epoch === stages.graftEpoch) {
        const { bytes, descriptor } = buildBlueprint(preset.blueprint, 0);
        registry.graft({
          slotId: preset.slotId,
          seedId,
          artifact: bytes,
          expectedSha256: descriptor.artifactSha256,
          blend: stages.blend,
        });
        move(SeedLifecycleStage.TRAINING);
      }
      if (
        stages !== undefined &&
        stage === SeedLifecycleStage.TRAINING &&
        epoch === stages.graftEpoch + stages.trainingEpochs
      )
        move(SeedLifecycleStage.BLENDING);
      let lossSum = 0;
      let steps = 0;
      for (const batch of batches.epoch(epoch)) {
        if (steps === preset.stepsPerEpoch) break;
        if (stages !== undefined && stage === SeedLifecycleStage.BLENDING) {
          blendStep++;
          registry.setAlpha(seedId, Math.min(1, blendStep / stages.blendingSteps));
        }
        const r = await runner.trainStep({
          x: batch.x,
          target: batch.y,
          batchSize: batch.size,
          alphas: registry.alphas,
        });
        registry.step(r.grads);
        lossSum += r.loss;
        steps++;
        if (
          stages !== undefined &&
          stage === SeedLifecycleStage.BLENDING &&
          blendStep >= stages.blendingSteps
        ) {
          move(SeedLifecycleStage.SHADOWING);
          move(SeedLifecycleStage.PROBATIONARY);
          move(SeedLifecycleStage.FOSSILIZED);
        }
      }
      const v = await runner.evaluate({ ...validation, alphas: registry.alphas });
      epochs.push({
        epoch,
        stage,
        trainLoss: lossSum / steps,
        validationAccuracy: argmaxAccuracy(v.logits, data.validation.y, data.validation.classes),
      });
    }
    return { epochs, compiledSessions: runner.compiledSessions };
  } finally {
    await runner.release();
  }
}
