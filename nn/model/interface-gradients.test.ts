import { describe, expect, it } from "vitest";
import { Float64Reference, type ReferenceInput, relativeError } from "../autodiff/float64-reference.ts";
import { buildBlueprint } from "../blueprints/artifact.ts";
import { Graph, type Tensor } from "../graph/graph.ts";
import { toOnnxBytes } from "../graph/to-onnx.ts";
import { cosine } from "../optim/pcgrad.ts";
import { ParameterStore } from "../params/store.ts";
import { createRng } from "../rng.ts";
import { compileEval } from "./compile.ts";
import { graftSeed } from "./graft.ts";
import { inlineKernel, seedParamPrefix } from "./kernel.ts";
import { ModelRunner, type StepInputs } from "./runner.ts";
import type { GraftedSeed } from "./slots.ts";
import { layoutOf, type ModelSpec } from "./spec.ts";

// The slot reads the input directly, so h = x and the reference can feed the two paths separately.
const spec: ModelSpec = {
  inputWidth: 4,
  layers: [
    { kind: "slot", slotId: "s" },
    { kind: "linear", name: "fc", out: 3 },
  ],
  loss: "softmaxCrossEntropy",
};
const ALPHA = 0.6;

function setup(model: ModelSpec = spec): {
  runner: ModelRunner;
  store: ParameterStore;
  seed: GraftedSeed;
  batch: StepInputs;
} {
  const rng = createRng(11);
  const store = new ParameterStore(rng.fork("init"));
  for (const p of layoutOf(model).params) store.add(p.name, p.shape, p.init);
  const { bytes, descriptor } = buildBlueprint(
    { kind: "residual-mlp", inputWidth: 4, hiddenWidth: 3, initSeed: 5 },
    0,
  );
  const seed = graftSeed(store, "k", bytes, descriptor.artifactSha256);
  const r = rng.fork("perturb");
  for (const name of store.names()) {
    const d = store.get(name);
    for (let i = 0; i < d.length; i++) d[i] = (d[i] ?? 0) + r.normal(0, 0.5);
  }
  const x = new Float32Array(20);
  r.fork("x").fillNormal(x, 0, 1);
  const batch: StepInputs = {
    x,
    target: Int32Array.from([0, 1, 2, 1, 0]),
    batchSize: 5,
    alphas: new Map([["s", ALPHA]]),
  };
  return {
    runner: new ModelRunner(model, store, { intraOpNumThreads: 1 }, () => true, 4, true),
    store,
    seed,
    batch,
  };
}

/**
 * Float64 central differences of the loss with respect to the host-path input `hh` and the seed-path
 * input `hs` of a graph written here: y = hh + α·k(hs) (residual) or y = hh + α·(k(hs) − hh) (convex).
 */
async function referencePaths(
  s: ReturnType<typeof setup>,
  mode: "residual" | "convex",
): Promise<{ host: Float64Array; seed: Float64Array }> {
  const g = new Graph();
  const hh = g.input("hh", ["N", 4]);
  const hs = g.input("hs", ["N", 4]);
  const alpha = g.input("alpha", [1]);
  const prefix = seedParamPrefix(s.seed.seedId);
  const params = new Map<string, Tensor>(
    s.seed.kernel.params.map((p) => [p.name, g.input(prefix + p.name, s.store.shape(prefix + p.name))]),
  );
  const k = inlineKernel(g, s.seed.kernel, hs, params);
  const y = mode === "residual" ? g.add(hh, g.mul(alpha, k)) : g.add(hh, g.mul(alpha, g.sub(k, hh)));
  const logits = g.gemm(y, g.input("fc/weight", [3, 4]), g.input("fc/bias", [3]), { transB: true });
  const loss = g.softmaxCrossEntropy(logits, g.input("target", ["N"], "int32"));
  const reference = await Float64Reference.create(toOnnxBytes(g, new Map([["loss", loss]]), { name: "ref" }));
  const inputs = new Map<string, ReferenceInput>([
    ["hh", { data: Float64Array.from(s.batch.x), dims: [5, 4] }],
    ["hs", { data: Float64Array.from(s.batch.x), dims: [5, 4] }],
    ["alpha", { data: Float64Array.from([ALPHA]), dims: [1] }],
    ["target", { data: s.batch.target as Int32Array, dims: [5] }],
  ]);
  for (const name of s.store.names())
    inputs.set(name, { data: Float64Array.from(s.store.get(name)), dims: s.store.shape(name) });
  const host = await reference.gradient(inputs, "hh");
  const seed = await reference.gradient(inputs, "hs");
  await reference.release();
  return { host, seed };
}

describe("interface gradients at a slot", () => {
  for (const mode of ["residual", "convex"] as const) {
    it(`${mode} blend: host and seed path gradients and their cosine match float64 finite differences`, async () => {
      const s = setup();
      s.runner.setWiring("s", { kind: "blend", seed: s.seed, mode });
      const step = await s.runner.trainStep(s.batch);
      const got = step.interfaces.get("s");
      if (!got?.host) throw new Error("no interface gradients for slot 's'");
      const want = await referencePaths(s, mode);
      expect(relativeError(got.host, want.host)).toBeLessThan(1e-4);
      expect(relativeError(got.seed, want.seed)).toBeLessThan(1e-4);
      const c = cosine(got.host, got.seed);
      expect(Math.abs(c)).toBeGreaterThan(0.01);
      expect(c).toBeCloseTo(cosine(want.host, want.seed), 4);
      await s.runner.release();
    });
  }

  it("incubator: the host path carries ∂L/∂x of the host alone; identity slots report nothing", async () => {
    const s = setup();
    s.runner.setWiring("s", { kind: "identity" });
    expect((await s.runner.trainStep(s.batch)).interfaces.size).toBe(0);
    const reference = await Float64Reference.create(compileEval(spec, s.runner.wirings, s.store).bytes);
    const inputs = new Map<string, ReferenceInput>([
      ["x", { data: Float64Array.from(s.batch.x), dims: [5, 4] }],
      ["target", { data: s.batch.target as Int32Array, dims: [5] }],
    ]);
    for (const name of s.store.names())
      inputs.set(name, { data: Float64Array.from(s.store.get(name)), dims: s.store.shape(name) });
    const dx = await reference.gradient(inputs, "x");
    await reference.release();
    s.runner.setWiring("s", { kind: "incubator", seed: s.seed });
    const got = (await s.runner.trainStep(s.batch)).interfaces.get("s");
    if (!got?.host) throw new Error("no interface gradients for slot 's'");
    expect(relativeError(got.host, dx)).toBeLessThan(1e-4);
    expect(Math.max(...Array.from(got.seed, Math.abs))).toBeGreaterThan(1e-4);
    await s.runner.release();
  });

  it("the seed path's share of an upstream host parameter's gradient matches finite differences", async () => {
    const deep: ModelSpec = {
      inputWidth: 4,
      layers: [
        { kind: "linear", name: "fc1", out: 4 },
        { kind: "activation", fn: "tanh" },
        { kind: "slot", slotId: "s" },
        { kind: "linear", name: "fc", out: 3 },
      ],
      loss: "softmaxCrossEntropy",
    };
    const s = setup(deep);
    s.runner.setWiring("s", { kind: "blend", seed: s.seed, mode: "residual" });
    const step = await s.runner.trainStep(s.batch);
    const shared = step.interfaces.get("s")?.shared;
    expect([...(shared?.keys() ?? [])].sort()).toEqual(["fc1/bias", "fc1/weight"]);
    // Reference: the host path and the seed path read separate copies of fc1 (fc1h, fc1s).
    const g = new Graph();
    const x = g.input("x", ["N", 4]);
    const layer = (w: string, b: string): Tensor =>
      g.tanh(g.gemm(x, g.input(w, [4, 4]), g.input(b, [4]), { transB: true }));
    const hh = layer("fc1h/weight", "fc1h/bias");
    const hs = layer("fc1s/weight", "fc1s/bias");
    const prefix = seedParamPrefix(s.seed.seedId);
    const params = new Map<string, Tensor>(
      s.seed.kernel.params.map((p) => [p.name, g.input(prefix + p.name, s.store.shape(prefix + p.name))]),
    );
    const y = g.add(hh, g.mul(g.input("alpha", [1]), inlineKernel(g, s.seed.kernel, hs, params)));
    const logits = g.gemm(y, g.input("fc/weight", [3, 4]), g.input("fc/bias", [3]), { transB: true });
    const loss = g.softmaxCrossEntropy(logits, g.input("target", ["N"], "int32"));
    const reference = await Float64Reference.create(
      toOnnxBytes(g, new Map([["loss", loss]]), { name: "ref" }),
    );
    const inputs = new Map<string, ReferenceInput>([
      ["x", { data: Float64Array.from(s.batch.x), dims: [5, 4] }],
      ["alpha", { data: Float64Array.from([ALPHA]), dims: [1] }],
      ["target", { data: s.batch.target as Int32Array, dims: [5] }],
    ]);
    for (const name of s.store.names()) {
      const v = { data: Float64Array.from(s.store.get(name)), dims: s.store.shape(name) };
      inputs.set(name, v);
      if (name.startsWith("fc1/")) {
        inputs.set(name.replace("fc1/", "fc1h/"), { ...v, data: Float64Array.from(v.data) });
        inputs.set(name.replace("fc1/", "fc1s/"), { ...v, data: Float64Array.from(v.data) });
      }
    }
    for (const p of ["weight", "bias"]) {
      const seedShare = shared?.get(`fc1/${p}`);
      const total = step.grads.get(`fc1/${p}`);
      if (!seedShare || !total) throw new Error(`no fc1/${p} gradients`);
      expect(relativeError(seedShare, await reference.gradient(inputs, `fc1s/${p}`))).toBeLessThan(1e-4);
      const hostShare = Float64Array.from(total, (v, i) => v - (seedShare[i] as number));
      expect(relativeError(hostShare, await reference.gradient(inputs, `fc1h/${p}`))).toBeLessThan(1e-4);
    }
    await reference.release();
    s.runner.setWiring("s", { kind: "incubator", seed: s.seed });
    expect((await s.runner.trainStep(s.batch)).interfaces.get("s")?.shared.size).toBe(0);
    // A runner built without sharedContributions leaves the extra backward out.
    const plain = new ModelRunner(deep, s.store, { intraOpNumThreads: 1 });
    plain.setWiring("s", { kind: "blend", seed: s.seed, mode: "residual" });
    expect((await plain.trainStep(s.batch)).interfaces.get("s")?.shared.size).toBe(0);
    await plain.release();
    await s.runner.release();
  });

  it("fully active convex wiring has no host path", async () => {
    const s = setup();
    s.runner.setWiring("s", { kind: "active", seed: s.seed, mode: "convex" });
    const got = (await s.runner.trainStep(s.batch)).interfaces.get("s");
    expect(got?.host).toBeUndefined();
    expect(got?.seed.length).toBe(20);
    await s.runner.release();
  });
});
