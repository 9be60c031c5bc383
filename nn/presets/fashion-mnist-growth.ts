import type { JobPreset } from "./job-preset.ts";

/**
 * Fashion-MNIST (train split; the test split validates) on a 784-16-10 ReLU MLP with a slot after the
 * 16-unit layer, for a wide ReLU layer (64 hidden). Epochs are 100 steps of batch
 * 128. Needs the Debian package dataset-fashion-mnist (or $ESPER_FASHION_MNIST_DIR).
 */
export const fashionMnistGrowthPreset: JobPreset = {
  name: "fashion-mnist-growth",
  dataset: { kind: "fashion-mnist", normalize: { mean: 0.286, std: 0.353 } },
  host: {
    inputWidth: 784,
    layers: [
      { kind: "linear", name: "fc1", out: 16 },
      { kind: "activation", fn: "relu" },
      { kind: "slot", slotId: "s1" },
      { kind: "linear", name: "fc2", out: 10 },
    ],
    loss: "softmaxCrossEntropy",
  },
  initSeed: 7,
  optimizer: { kind: "adamw", lr: 1e-3, weightDecay: 0 },
  batchSize: 128,
  epochs: 10,
  stepsPerEpoch: 100,
  slotId: "s1",
  blueprint: { kind: "wide-single-layer", inputWidth: 16, hiddenWidth: 64, initSeed: 1 },
};
