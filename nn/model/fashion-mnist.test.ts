import { describe, expect, it } from "vitest";
import { BatchIterator } from "../data/batches.ts";
import { loadFashionMnist } from "../data/fashion-mnist.ts";
import { AdamW } from "../optim/adamw.ts";
import { ParameterStore } from "../params/store.ts";
import { createRng } from "../rng.ts";
import { argmaxAccuracy } from "./accuracy.ts";
import { ModelRunner } from "./runner.ts";
import { layoutOf, type ModelSpec } from "./spec.ts";

const spec: ModelSpec = {
  inputWidth: 784,
  layers: [
    { kind: "linear", name: "fc1", out: 256 },
    { kind: "activation", fn: "relu" },
    { kind: "linear", name: "fc2", out: 10 },
  ],
  loss: "softmaxCrossEntropy",
};

describe("static MLP on Fashion-MNIST (dataset-fashion-mnist)", () => {
  it("reaches at least 0.85 test accuracy within 5 epochs", async () => {
    const [train, test] = await Promise.all([
      loadFashionMnist({ split: "train", normalize: { mean: 0.286, std: 0.353 } }),
      loadFashionMnist({ split: "test", normalize: { mean: 0.286, std: 0.353 } }),
    ]);
    const rng = createRng(7);
    const store = new ParameterStore(rng.fork("init"));
    for (const p of layoutOf(spec).params) store.add(p.name, p.shape, p.init);
    const runner = new ModelRunner(spec, store, { intraOpNumThreads: 1 });
    const optimizer = new AdamW(store, { lr: 1e-3, weightDecay: 0 });
    optimizer.addGroup("host", store.names());
    const batches = new BatchIterator(train, {
      batchSize: 128,
      shuffle: rng.fork("shuffle"),
      lastBatch: "drop",
      labels: "int32",
    });
    const epochs = 3;
    let firstLoss = Number.NaN;
    let lastLoss = Number.NaN;
    for (let e = 0; e < epochs; e++) {
      for (const b of batches.epoch(e)) {
        const r = await runner.trainStep({ x: b.x, target: b.y, batchSize: b.size });
        optimizer.step(r.grads);
        if (Number.isNaN(firstLoss)) firstLoss = r.loss;
        lastLoss = r.loss;
      }
    }
    const evaluated = await runner.evaluate({ x: test.x, target: test.y, batchSize: test.n });
    const accuracy = argmaxAccuracy(evaluated.logits, test.y, 10);
    await runner.release();
    expect(lastLoss).toBeLessThan(firstLoss);
    expect(accuracy).toBeGreaterThanOrEqual(0.85);
  }, 60_000);
});
