import { describe, expect, it } from "vitest";
import { buildBlueprint } from "../blueprints/artifact.ts";
import { graftSeed } from "../model/graft.ts";
import { ModelRunner } from "../model/runner.ts";
import { createSession, floatFeed, floatResult } from "../model/session.ts";
import { layoutOf, type ModelSpec } from "../model/spec.ts";
import { ParameterStore } from "../params/store.ts";
import { createRng } from "../rng.ts";
import { exportInferenceModel } from "./inference-model.ts";

const spec: ModelSpec = {
  inputWidth: 5,
  layers: [
    { kind: "linear", name: "fc1", out: 8 },
    { kind: "layerNorm", name: "ln" },
    { kind: "activation", fn: "gelu" },
    { kind: "slot", slotId: "a" },
    { kind: "dropout", name: "drop", p: 0.3 },
    {
      kind: "residual",
      body: [
        { kind: "linear", name: "res", out: 8 },
        { kind: "activation", fn: "relu" },
      ],
    },
    { kind: "slot", slotId: "b" },
    { kind: "linear", name: "head", out: 3 },
  ],
  loss: "softmaxCrossEntropy",
};

describe("exportInferenceModel", () => {
  it("runs standalone in ORT and matches the evaluation graph, fossilized seeds included", async () => {
    const rng = createRng(5);
    const store = new ParameterStore(rng.fork("init"));
    for (const p of layoutOf(spec).params) store.add(p.name, p.shape, p.init);
    const a = buildBlueprint({ kind: "gated-unit", inputWidth: 8, hiddenWidth: 4, initSeed: 1 }, 0);
    const seedA = graftSeed(store, "sa", a.bytes, a.descriptor.artifactSha256);
    const b = buildBlueprint({ kind: "low-rank-linear", inputWidth: 8, hiddenWidth: 2, initSeed: 2 }, 0);
    const seedB = graftSeed(store, "sb", b.bytes, b.descriptor.artifactSha256);
    const perturb = rng.fork("perturb");
    for (const name of store.names()) {
      const d = store.get(name);
      for (let i = 0; i < d.length; i++) d[i] = (d[i] ?? 0) + perturb.normal(0, 0.3);
    }
    const runner = new ModelRunner(spec, store, { intraOpNumThreads: 1 });
    runner.setWiring("a", { kind: "active", seed: seedA, mode: "residual" });
    runner.setWiring("b", { kind: "active", seed: seedB, mode: "convex" });
    const x = new Float32Array(7 * 5);
    rng.fork("x").fillNormal(x, 0, 1);
    const evaluated = await runner.evaluate({ x, target: new Int32Array(7), batchSize: 7 });

    const bytes = exportInferenceModel(spec, runner.wirings, store, { run: "test" });
    const session = await createSession(bytes, { intraOpNumThreads: 1 });
    expect(session.inputNames).toEqual(["x"]);
    const exported = floatResult(await session.run({ x: floatFeed(x, [7, 5]) }), "logits");
    for (const [i, v] of exported.entries()) expect(v).toBeCloseTo(evaluated.logits[i] ?? Number.NaN, 5);
    await Promise.all([session.release(), runner.release()]);

    runner.setWiring("b", { kind: "blend", seed: seedB, mode: "residual" });
    expect(() => exportInferenceModel(spec, runner.wirings, store)).toThrow(/slot 'b' is wired as blend/);
  });
});
