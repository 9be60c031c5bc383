import { describe, expect, it } from "vitest";
import { SeedLifecycleStage } from "../../contracts/enums.ts";
import { buildBlueprint } from "../blueprints/artifact.ts";
import { AdamW } from "../optim/adamw.ts";
import { ParameterStore } from "../params/store.ts";
import { createRng } from "../rng.ts";
import { ModelRunner, type StepInputs } from "./runner.ts";
import { SeedRegistry } from "./seed-registry.ts";
import { layoutOf, type ModelSpec } from "./spec.ts";

const spec: ModelSpec = {
  inputWidth: 2,
  layers: [
    { kind: "linear", name: "fc1", out: 4 },
    { kind: "activation", fn: "tanh" },
    { kind: "slot", slotId: "s" },
    { kind: "linear", name: "fc2", out: 3 },
  ],
  loss: "softmaxCrossEntropy",
};

function setup(maxSessions?: number) {
  const store = new ParameterStore(createRng(3).fork("init"));
  for (const p of layoutOf(spec).params) store.add(p.name, p.shape, p.init);
  const runner = new ModelRunner(spec, store, { intraOpNumThreads: 1 }, () => true, maxSessions);
  const optimizer = new AdamW(store, { lr: 0.01 });
  optimizer.addGroup("host", store.names());
  const registry = new SeedRegistry(runner, optimizer);
  const x = new Float32Array(16);
  createRng(4).fillNormal(x, 0, 1);
  const batch: StepInputs = { x, target: Int32Array.from([0, 1, 2, 0, 1, 2, 0, 1]), batchSize: 8 };
  const step = async (): Promise<void> => {
    const r = await runner.trainStep({ ...batch, alphas: registry.alphas });
    registry.step(r.grads);
    await runner.evaluate({ ...batch, alphas: registry.alphas });
  };
  return { store, runner, optimizer, registry, step };
}

const artifact = (initSeed: number) =>
  buildBlueprint({ kind: "residual-mlp", inputWidth: 4, hiddenWidth: 3, initSeed }, 0);

function graft(registry: SeedRegistry<object>, seedId: string, initSeed: number): void {
  const { bytes, descriptor } = artifact(initSeed);
  registry.graft({
    slotId: "s",
    seedId,
    artifact: bytes,
    expectedSha256: descriptor.artifactSha256,
    blend: "residual",
  });
}

describe("SeedRegistry", () => {
  it("graft → TRAINING → BLENDING → FOSSILIZED → cull, and the next step trains the host alone", async () => {
    const { store, runner, optimizer, registry, step } = setup();
    const hostParams = store.names();
    graft(registry, "a", 1);
    expect(store.names().filter((n) => n.startsWith("seed/a/"))).toHaveLength(4);
    expect(optimizer.groupNames()).toEqual(["host", "seed/a"]);
    await step(); // GERMINATED: identity wiring, the seed group is not stepped
    expect(optimizer.groupStep("seed/a")).toBe(0);
    registry.setStage("a", SeedLifecycleStage.TRAINING);
    await step();
    expect(optimizer.groupStep("seed/a")).toBe(1);
    registry.setStage("a", SeedLifecycleStage.BLENDING);
    await expect(
      runner.trainStep({ x: new Float32Array(2), target: Int32Array.from([0]), batchSize: 1 }),
    ).rejects.toThrow(/slot 's' needs a finite α/);
    for (const alpha of [0.25, 0.5, 1]) {
      registry.setAlpha("a", alpha);
      await step();
    }
    registry.setStage("a", SeedLifecycleStage.FOSSILIZED);
    await step();
    expect(optimizer.groupStep("seed/a")).toBe(5);
    registry.cull("a");
    expect(store.names()).toEqual(hostParams);
    expect(optimizer.groupNames()).toEqual(["host"]);
    expect(runner.wirings.size).toBe(0);
    expect(registry.seeds()).toEqual([]);
    const hostSteps = optimizer.groupStep("host");
    await step();
    expect(optimizer.groupStep("host")).toBe(hostSteps + 1);
    graft(registry, "a", 2); // the slot and the seed id are free again
    registry.setStage("a", SeedLifecycleStage.TRAINING);
    await step();
    await runner.release();
  });

  it("keeps the session cache bounded over 5 grafts × 3 wirings, and cull releases the culled seed's sessions", async () => {
    const bounded = setup();
    for (let i = 0; i < 5; i++) {
      graft(bounded.registry, `g${i}`, i);
      for (const stage of [
        SeedLifecycleStage.TRAINING,
        SeedLifecycleStage.BLENDING,
        SeedLifecycleStage.FOSSILIZED,
      ]) {
        bounded.registry.setStage(`g${i}`, stage);
        if (stage === SeedLifecycleStage.BLENDING) bounded.registry.setAlpha(`g${i}`, 0.5);
        await bounded.step();
        expect(bounded.runner.cachedSessions).toBeLessThanOrEqual(bounded.runner.maxSessions);
      }
      bounded.registry.cull(`g${i}`);
    }
    expect(bounded.runner.compiledSessions).toBe(30);
    await bounded.runner.release();
    expect(bounded.runner.cachedSessions).toBe(0);

    const roomy = setup(8);
    await roomy.step(); // host alone: train + eval
    graft(roomy.registry, "c", 7);
    for (const stage of [
      SeedLifecycleStage.TRAINING,
      SeedLifecycleStage.BLENDING,
      SeedLifecycleStage.FOSSILIZED,
    ]) {
      roomy.registry.setStage("c", stage);
      roomy.registry.setAlpha("c", 0.5);
      await roomy.step();
    }
    expect(roomy.runner.cachedSessions).toBe(8);
    roomy.registry.cull("c");
    expect(roomy.runner.cachedSessions).toBe(2);
    await roomy.step();
    expect(roomy.runner.compiledSessions).toBe(8);
    await roomy.runner.release();
  });

  it("cull releases the seed group's optimizer state, and the next graft reuses that memory", async () => {
    const { optimizer, registry, step, runner } = setup();
    const hostOnly = optimizer.stateBytes;
    graft(registry, "a", 1);
    const withSeed = optimizer.stateBytes;
    expect(withSeed).toBeGreaterThan(hostOnly);
    registry.setStage("a", SeedLifecycleStage.TRAINING);
    await step();
    const reserved = optimizer.kernelMemoryBytes;
    registry.cull("a");
    expect(optimizer.stateBytes).toBe(hostOnly);
    graft(registry, "b", 2);
    expect(optimizer.stateBytes).toBe(withSeed);
    expect(optimizer.kernelMemoryBytes).toBe(reserved);
    await runner.release();
  });

  it("refuses an artifact whose digest differs, naming both digests, and changes nothing", () => {
    const { store, optimizer, registry } = setup();
    const { bytes, descriptor } = artifact(1);
    const wrong = "ab".repeat(32);
    expect(() =>
      registry.graft({ slotId: "s", seedId: "x", artifact: bytes, expectedSha256: wrong, blend: "residual" }),
    ).toThrow(`kernel artifact sha256 ${descriptor.artifactSha256} differs from expected ${wrong}`);
    expect(store.names().some((n) => n.startsWith("seed/"))).toBe(false);
    expect(optimizer.groupNames()).toEqual(["host"]);
    expect(registry.seeds()).toEqual([]);
  });

  it("refuses a second seed in an occupied slot and a kernel of the wrong width, leaving the store as it was", () => {
    const { store, optimizer, registry } = setup();
    graft(registry, "a", 1);
    const names = store.names();
    expect(() => graft(registry, "b", 2)).toThrow(/slot 's' already holds seed 'a'/);
    registry.cull("a");
    const wide = buildBlueprint({ kind: "residual-mlp", inputWidth: 5, hiddenWidth: 3, initSeed: 1 }, 0);
    expect(() =>
      registry.graft({
        slotId: "s",
        seedId: "w",
        artifact: wide.bytes,
        expectedSha256: wide.descriptor.artifactSha256,
        blend: "residual",
      }),
    ).toThrow(/slot 's' has width 4, kernel maps 5 → 5/);
    expect(store.names()).toEqual(names.filter((n) => !n.startsWith("seed/")));
    expect(optimizer.groupNames()).toEqual(["host"]);
  });
});
