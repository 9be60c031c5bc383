import { describe, expect, it } from "vitest";
import { buildBlueprint } from "../blueprints/artifact.ts";
import { ParameterStore } from "../params/store.ts";
import { createRng } from "../rng.ts";
import { graftSeed } from "./graft.ts";
import { ModelRunner } from "./runner.ts";
import { layoutOf, type ModelSpec } from "./spec.ts";

function storeFor(spec: ModelSpec, seed: number): ParameterStore {
  const store = new ParameterStore(createRng(seed).fork("init"));
  for (const p of layoutOf(spec).params) store.add(p.name, p.shape, p.init);
  return store;
}

const dropSpec: ModelSpec = {
  inputWidth: 4,
  layers: [
    { kind: "linear", name: "fc1", out: 16 },
    { kind: "activation", fn: "relu" },
    { kind: "dropout", name: "d", p: 0.5 },
    { kind: "linear", name: "fc2", out: 3 },
  ],
  loss: "softmaxCrossEntropy",
};

describe("ModelRunner", () => {
  it("dropout: needs a seeded rng in training, is deterministic per seed, and is off in evaluation", async () => {
    const runner = new ModelRunner(dropSpec, storeFor(dropSpec, 1), { intraOpNumThreads: 1 });
    const x = new Float32Array(8 * 4);
    createRng(2).fillNormal(x, 0, 1);
    const batch = { x, target: Int32Array.from([0, 1, 2, 0, 1, 2, 0, 1]), batchSize: 8 };
    await expect(runner.trainStep(batch)).rejects.toThrow(/dropoutRng: required for dropout layer 'd'/);
    const a = await runner.trainStep({ ...batch, dropoutRng: createRng(3) });
    const b = await runner.trainStep({ ...batch, dropoutRng: createRng(3) });
    const c = await runner.trainStep({ ...batch, dropoutRng: createRng(4) });
    expect(b.loss).toBe(a.loss);
    expect(a.grads.get("fc1/weight")?.length).toBe(16 * 4);
    expect(b.grads.get("fc1/weight")).toEqual(a.grads.get("fc1/weight"));
    expect(c.loss).not.toBe(a.loss);
    const e1 = await runner.evaluate(batch);
    const e2 = await runner.evaluate(batch);
    expect(e1.loss).toBe(e2.loss);
    expect(e1.loss).not.toBe(a.loss);
    await runner.release();
  });

  it("returns gradients only for trainable parameters, and rejects malformed batches naming the field", async () => {
    const spec: ModelSpec = { ...dropSpec, layers: dropSpec.layers.filter((l) => l.kind !== "dropout") };
    const runner = new ModelRunner(spec, storeFor(spec, 1), { intraOpNumThreads: 1 }, (n) =>
      n.startsWith("fc2/"),
    );
    const step = await runner.trainStep({
      x: new Float32Array(8),
      target: Int32Array.from([0, 2]),
      batchSize: 2,
    });
    expect([...step.grads.keys()].sort()).toEqual(["fc2/bias", "fc2/weight"]);
    await expect(
      runner.trainStep({ x: new Float32Array(7), target: Int32Array.from([0, 2]), batchSize: 2 }),
    ).rejects.toThrow(/x has 7 values, expected 2×4/);
    await expect(
      runner.trainStep({ x: new Float32Array(8), target: Int32Array.from([0]), batchSize: 2 }),
    ).rejects.toThrow(/target has 1 values, expected 2/);
    // −1 would otherwise gather the last class; 3 is past the last of 3 classes.
    await expect(
      runner.trainStep({ x: new Float32Array(8), target: Int32Array.from([0, -1]), batchSize: 2 }),
    ).rejects.toThrow(/target: row 1 has label -1, expected a class in \[0, 2\]/);
    await expect(
      runner.evaluate({ x: new Float32Array(8), target: Int32Array.from([3, 0]), batchSize: 2 }),
    ).rejects.toThrow(/target: row 0 has label 3/);
    await runner.release();
  });

  it("confidence gate: a = clip(α·sigmoid(k·(top1 − top2 − τ)), lo, hi) per sample; α changes do not recompile", async () => {
    const spec: ModelSpec = {
      inputWidth: 3,
      layers: [{ kind: "slot", slotId: "s" }],
      loss: "meanSquaredError",
    };
    const store = storeFor(spec, 1);
    const bp = buildBlueprint({ kind: "residual-mlp", inputWidth: 3, hiddenWidth: 5, initSeed: 1 }, 0);
    const seed = graftSeed(store, "g", bp.bytes, bp.descriptor.artifactSha256);
    const r = createRng(9);
    for (const name of store.names()) r.fillNormal(store.get(name), 0, 1);
    const runner = new ModelRunner(spec, store, { intraOpNumThreads: 1 });
    const x = new Float32Array(6 * 3);
    r.fillNormal(x, 0, 1);
    const batch = { x, target: new Float32Array(18), batchSize: 6 };
    runner.setWiring("s", { kind: "active", seed, mode: "convex" });
    const k = (await runner.evaluate(batch)).logits;
    const gate = { sharpness: 4, tau: 0.2, lo: 0.1, hi: 0.7 };
    runner.setWiring("s", { kind: "blend", seed, mode: "confidence", gate });
    const before = runner.compiledSessions;
    for (const alpha of [0.3, 0.9]) {
      const y = (await runner.evaluate({ ...batch, alphas: new Map([["s", alpha]]) })).logits;
      for (let i = 0; i < 6; i++) {
        const row = Array.from(k.subarray(i * 3, i * 3 + 3)).sort((p, q) => q - p);
        const g = 1 / (1 + Math.exp(-gate.sharpness * ((row[0] ?? 0) - (row[1] ?? 0) - gate.tau)));
        const a = Math.min(gate.hi, Math.max(gate.lo, alpha * g));
        for (let j = 0; j < 3; j++) {
          const expected = (1 - a) * (x[i * 3 + j] ?? 0) + a * (k[i * 3 + j] ?? 0);
          expect(y[i * 3 + j]).toBeCloseTo(expected, 5);
        }
      }
    }
    expect(runner.compiledSessions).toBe(before + 1);
    await runner.release();
  });

  it("evicts the least recently used session beyond maxSessions, never one with a run in flight", async () => {
    const spec: ModelSpec = {
      inputWidth: 3,
      layers: [
        { kind: "slot", slotId: "s" },
        { kind: "linear", name: "fc", out: 2 },
      ],
      loss: "softmaxCrossEntropy",
    };
    const store = storeFor(spec, 1);
    const bp = buildBlueprint({ kind: "low-rank-linear", inputWidth: 3, hiddenWidth: 2, initSeed: 1 }, 0);
    const seed = graftSeed(store, "k", bp.bytes, bp.descriptor.artifactSha256);
    const runner = new ModelRunner(spec, store, { intraOpNumThreads: 1 }, () => true, 2);
    const batch = { x: new Float32Array(6), target: Int32Array.from([0, 1]), batchSize: 2 };
    const first = runner.trainStep(batch); // identity train session, run in flight
    runner.setWiring("s", { kind: "active", seed, mode: "residual" });
    const second = runner.trainStep(batch);
    const third = runner.evaluate(batch); // third session: evicts the identity one while it runs
    expect(runner.cachedSessions).toBe(2);
    await expect(Promise.all([first, second, third])).resolves.toHaveLength(3);
    await runner.trainStep(batch); // the active train session is now the most recently used
    runner.setWiring("s", { kind: "identity" });
    await runner.trainStep(batch); // compiles, evicting the active eval session
    runner.setWiring("s", { kind: "active", seed, mode: "residual" });
    await runner.trainStep(batch); // still cached
    expect(runner.compiledSessions).toBe(4);
    expect(runner.cachedSessions).toBe(2);
    await runner.release();
    expect(runner.cachedSessions).toBe(0);
  });
});
