import { describe, expect, it } from "vitest";
import { Float64Reference, type ReferenceInput, relativeError } from "../autodiff/float64-reference.ts";
import { buildBlueprint } from "../blueprints/artifact.ts";
import { blueprintTemplates } from "../blueprints/library.ts";
import { ParameterStore } from "../params/store.ts";
import { createRng } from "../rng.ts";
import { compileEval } from "./compile.ts";
import { graftSeed } from "./graft.ts";
import { ModelRunner, type StepInputs } from "./runner.ts";
import type { GraftedSeed, SlotWiring } from "./slots.ts";
import { layoutOf, type ModelSpec } from "./spec.ts";

const spec: ModelSpec = {
  inputWidth: 3,
  layers: [
    { kind: "linear", name: "fc1", out: 4 },
    { kind: "activation", fn: "tanh" },
    { kind: "slot", slotId: "s" },
    { kind: "linear", name: "fc2", out: 3 },
  ],
  loss: "softmaxCrossEntropy",
};

const HIDDEN: Record<string, number> = {
  "residual-mlp": 3,
  "bottleneck-adapter": 2,
  "low-rank-linear": 2,
  "gated-unit": 3,
  "wide-single-layer": 16,
};

interface Setup {
  readonly runner: ModelRunner;
  readonly store: ParameterStore;
  readonly seed: GraftedSeed;
  readonly batch: StepInputs;
}

function setup(kind: string): Setup {
  const rng = createRng(99);
  const store = new ParameterStore(rng.fork("init"));
  for (const p of layoutOf(spec).params) store.add(p.name, p.shape, p.init);
  const { bytes, descriptor } = buildBlueprint(
    { kind, inputWidth: 4, hiddenWidth: HIDDEN[kind] ?? 2, initSeed: 5 },
    0,
  );
  const seed = graftSeed(store, "k", bytes, descriptor.artifactSha256);
  // Move every parameter (including zero-initialised output projections) off its initial value.
  const r = rng.fork("perturb");
  for (const name of store.names()) {
    const d = store.get(name);
    for (let i = 0; i < d.length; i++) d[i] = (d[i] ?? 0) + r.normal(0, 0.5);
  }
  const x = new Float32Array(15);
  r.fork("x").fillNormal(x, 0, 1);
  const batch: StepInputs = {
    x,
    target: Int32Array.from([0, 1, 2, 1, 0]),
    batchSize: 5,
    alphas: new Map([["s", 0.6]]),
    alphaVecs: new Map([["s", Float32Array.from([0.2, 0.9, 1.4, 0.5])]]),
  };
  return { runner: new ModelRunner(spec, store, { intraOpNumThreads: 1 }), store, seed, batch };
}

/** Relative error of each analytic (float32) gradient against float64 central differences of the eval graph. */
async function compare(s: Setup, wiring: SlotWiring): Promise<Map<string, number>> {
  s.runner.setWiring("s", wiring);
  const step = await s.runner.trainStep(s.batch);
  const reference = await Float64Reference.create(compileEval(spec, s.runner.wirings, s.store).bytes);
  const inputs = new Map<string, ReferenceInput>([
    ["x", { data: Float64Array.from(s.batch.x), dims: [s.batch.batchSize, spec.inputWidth] }],
    ["target", { data: s.batch.target as Int32Array, dims: [s.batch.batchSize] }],
    ["alpha/s", { data: Float64Array.from([s.batch.alphas?.get("s") ?? Number.NaN]), dims: [1] }],
    ["alpha_vec/s", { data: Float64Array.from(s.batch.alphaVecs?.get("s") ?? []), dims: [4] }],
  ]);
  for (const name of s.store.names()) {
    inputs.set(name, { data: Float64Array.from(s.store.get(name)), dims: s.store.shape(name) });
  }
  const errors = new Map<string, number>();
  for (const [name, analytic] of step.grads) {
    errors.set(name, relativeError(analytic, await reference.gradient(inputs, name)));
  }
  await reference.release();
  return errors;
}

function expectAllBelow(errors: Map<string, number>, names: (n: string) => boolean): void {
  const checked = [...errors].filter(([n]) => names(n));
  expect(checked.length).toBeGreaterThan(0);
  for (const [name, e] of checked) expect(e, `relative error of grad/${name}`).toBeLessThan(1e-3);
}

describe("slot wirings: analytic gradients match central finite differences", () => {
  for (const kind of Object.keys(blueprintTemplates)) {
    it(`${kind} kernel, blended residual and convex, fully active`, async () => {
      const s = setup(kind);
      for (const w of [
        { kind: "blend", seed: s.seed, mode: "residual" },
        { kind: "blend", seed: s.seed, mode: "convex" },
        { kind: "active", seed: s.seed, mode: "residual" },
      ] as const) {
        expectAllBelow(await compare(s, w), () => true);
      }
      await s.runner.release();
    });
  }

  it("per-channel alpha vector and confidence-gated blends (constant gate)", async () => {
    const s = setup("residual-mlp");
    expectAllBelow(await compare(s, { kind: "blend", seed: s.seed, mode: "channel" }), () => true);
    const gate = { sharpness: 0, tau: 0.2, lo: 0, hi: 1 };
    expectAllBelow(await compare(s, { kind: "blend", seed: s.seed, mode: "confidence", gate }), () => true);
    await s.runner.release();
  });

  it("incubator: the slot output and every host gradient equal the host's exactly; the seed gets ∂L/∂y", async () => {
    const s = setup("residual-mlp");
    s.runner.setWiring("s", { kind: "identity" });
    const host = await s.runner.trainStep(s.batch);
    const hostEval = await s.runner.evaluate(s.batch);
    s.runner.setWiring("s", { kind: "incubator", seed: s.seed });
    const inc = await s.runner.trainStep(s.batch);
    const incEval = await s.runner.evaluate(s.batch);
    // The seed is perturbed, so k(h) ≠ 0: any leak of k into the forward value changes the logits.
    expect(Array.from(inc.logits)).toEqual(Array.from(host.logits));
    expect(inc.loss).toBe(host.loss);
    expect(Array.from(incEval.logits)).toEqual(Array.from(hostEval.logits));
    for (const [name, g] of host.grads)
      expect(Array.from(inc.grads.get(name) ?? []), name).toEqual(Array.from(g));
    // Straight through: the seed's gradient is J_kᵀ·∂L/∂y at y = h, i.e. lim α→0 of the residual
    // blend's seed gradient divided by α.
    const eps = 1e-3;
    s.runner.setWiring("s", { kind: "blend", seed: s.seed, mode: "residual" });
    const blend = await s.runner.trainStep({ ...s.batch, alphas: new Map([["s", eps]]) });
    const seedParams = s.seed.kernel.params.map((p) => `seed/k/${p.name}`);
    for (const name of seedParams) {
      const got = inc.grads.get(name);
      const want = blend.grads.get(name);
      if (!got || !want) throw new Error(`no gradient for ${name}`);
      expect(Math.max(...Array.from(got, Math.abs)), name).toBeGreaterThan(1e-3);
      expect(
        relativeError(
          got,
          Float64Array.from(want, (v) => v / eps),
        ),
        name,
      ).toBeLessThan(1e-2);
    }
    await s.runner.release();
  });

  it("identity wiring reads no seed parameter and α changes need no recompile", async () => {
    const s = setup("residual-mlp");
    s.runner.setWiring("s", { kind: "identity" });
    const step = await s.runner.trainStep(s.batch);
    expect([...step.grads.keys()].sort()).toEqual(["fc1/bias", "fc1/weight", "fc2/bias", "fc2/weight"]);
    s.runner.setWiring("s", { kind: "blend", seed: s.seed, mode: "residual" });
    const a = await s.runner.evaluate({ ...s.batch, alphas: new Map([["s", 0]]) });
    const b = await s.runner.evaluate({ ...s.batch, alphas: new Map([["s", 1]]) });
    s.runner.setWiring("s", { kind: "identity" });
    const host = await s.runner.evaluate(s.batch);
    expect(Array.from(a.logits)).toEqual(Array.from(host.logits));
    expect(Array.from(b.logits)).not.toEqual(Array.from(host.logits));
    await expect(s.runner.trainStep({ ...s.batch, alphas: new Map() })).resolves.toBeDefined();
    s.runner.setWiring("s", { kind: "blend", seed: s.seed, mode: "residual" });
    await expect(s.runner.trainStep({ ...s.batch, alphas: new Map() })).rejects.toThrow(
      /slot 's' needs a finite α/,
    );
    await s.runner.release();
  });
});
