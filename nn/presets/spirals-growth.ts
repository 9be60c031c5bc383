import type { JobPreset } from "./job-preset.ts";
import type { ScriptedSchedule } from "./preset-run.ts";

/**
 * The default job: two interleaved spirals (1.5 turns) that a host with a 4-unit tanh layer cannot
 * separate (validation accuracy plateaus near 0.6 within the first epochs). A wide ReLU layer grafted
 * at the slot after that layer takes it above 0.9. 120 epochs of 40 steps of batch 32: the growth
 * happens in the first dozen epochs, and the run is long enough (several seconds through `esper up`)
 * to watch it and to restart a killed actor within it.
 */
export const spiralsGrowthPreset: JobPreset = {
  name: "spirals-growth",
  dataset: {
    kind: "spirals",
    n: 2000,
    classes: 2,
    turns: 1.5,
    noise: 0.03,
    seed: 1,
    validationFraction: 0.25,
  },
  host: {
    inputWidth: 2,
    layers: [
      { kind: "linear", name: "fc1", out: 4 },
      { kind: "activation", fn: "tanh" },
      { kind: "slot", slotId: "s1" },
      { kind: "linear", name: "fc2", out: 2 },
    ],
    loss: "softmaxCrossEntropy",
  },
  initSeed: 7,
  optimizer: { kind: "adamw", lr: 0.02, weightDecay: 0 },
  batchSize: 32,
  epochs: 120,
  stepsPerEpoch: 40,
  slotId: "s1",
  blueprint: { kind: "wide-single-layer", inputWidth: 4, hiddenWidth: 64, initSeed: 1 },
};

/**
 * A hand-written schedule for the default job run in process (`runPreset`, the tests): graft at epoch
 * 4, incubate 2 epochs, blend (residual) over 40 steps. The actors do not read it.
 */
export const spiralsScriptedSchedule: ScriptedSchedule = {
  graftEpoch: 4,
  trainingEpochs: 2,
  blendingSteps: 40,
  blend: "residual",
};
