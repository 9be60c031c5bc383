import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { SeedLifecycleStage } from "../../contracts/enums.ts";
import type { KernelRef } from "../../contracts/messages/seed.ts";
import { buildBlueprint } from "../../nn/blueprints/artifact.ts";
import { loadPresetData, type PresetData } from "../../nn/presets/preset-run.ts";
import { spiralsGrowthPreset as preset } from "../../nn/presets/spirals-growth.ts";
import { blendDirective, directive, graftDirective } from "./directive-fixture.ts";
import { Trainer } from "./trainer.ts";
import type { TrainerSnapshot } from "./trainer-snapshot.ts";

const artifact = buildBlueprint(preset.blueprint, 0);
const kernel: KernelRef = {
  blueprintId: artifact.descriptor.blueprintId,
  artifactRef: artifact.descriptor.artifactSha256,
  checksum: artifact.descriptor.artifactSha256,
};

let data: PresetData;
beforeAll(async () => {
  data = await loadPresetData(preset);
});
const trainers: Trainer[] = [];
afterEach(async () => {
  for (const t of trainers.splice(0)) await t.release();
});

function trainer(): Trainer {
  const t = new Trainer({
    preset,
    data,
    trainingRunId: "run-1",
    fetchKernel: async () => artifact.bytes,
    reportEverySteps: 1000,
    intraOpNumThreads: 1,
    pcgrad: false,
    now: () => 1_700_000_000_000,
  });
  trainers.push(t);
  return t;
}

/** Every parameter value and optimizer state value, bit for bit (as uint32 words). */
function bits(snap: TrainerSnapshot): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, t] of snap.training.params.tensors)
    out[`param ${name}`] = [...new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length)];
  for (const [name, g] of snap.training.optimizer.groups) {
    out[`group ${name} step`] = [g.step];
    g.slots.forEach((slots, i) => {
      slots.forEach((s, k) => {
        out[`group ${name} ${g.params[i]} slot ${k}`] = [
          ...new Uint32Array(s.buffer, s.byteOffset, s.length),
        ];
      });
    });
  }
  return out;
}

async function steps(t: Trainer, n: number): Promise<number[]> {
  const losses: number[] = [];
  for (let i = 0; i < n; i++) losses.push((await t.step()).loss);
  return losses;
}

describe("Trainer snapshot and restore", () => {
  it("restores parameters and optimizer state bit for bit and trains on with the same losses", async () => {
    const t = trainer();
    await steps(t, 5);
    const snap = t.snapshot();
    const before = bits(snap);
    const after = await steps(t, 4);
    expect(bits(t.snapshot())).not.toEqual(before);
    t.restore(snap);
    expect(bits(t.snapshot())).toEqual(before);
    expect(t.globalStep).toBe(5);
    expect(await steps(t, 4)).toEqual(after);
  });

  it("restores the same snapshot twice with steps in between: the snapshot is not aliased by the trainer", async () => {
    const t = trainer();
    await steps(t, 5);
    const snap = t.snapshot();
    const before = bits(snap);
    const after = await steps(t, 4);
    t.restore(snap);
    expect(await steps(t, 4)).toEqual(after);
    expect(bits(snap)).toEqual(before);
    t.restore(snap);
    expect(bits(t.snapshot())).toEqual(before);
    expect(await steps(t, 4)).toEqual(after);
  });

  it("at an epoch's boundary and mid-epoch: the next step reads the batch after the snapshot's", async () => {
    const t = trainer();
    await steps(t, preset.stepsPerEpoch - 1);
    const mid = t.snapshot();
    const fromMid = await steps(t, 3);
    const boundary = t.snapshot();
    const fromBoundary = await steps(t, 2);
    t.restore(mid);
    expect(await steps(t, 3)).toEqual(fromMid);
    t.restore(boundary);
    expect(await steps(t, 2)).toEqual(fromBoundary);
  });

  it("with the same grafts: the live seed is kept, its stage and α put back, bit for bit", async () => {
    const t = trainer();
    t.enqueue(graftDirective("s1-g0", 0, kernel));
    await steps(t, 4);
    const grafted = t.seeds()[0]?.seed;
    const snap = t.snapshot();
    const kept = await steps(t, 3);
    t.restore(snap);
    t.enqueue(blendDirective("s1-g0", 1, 10));
    await steps(t, 3);
    expect(t.seeds().map((e) => e.stage)).toEqual([SeedLifecycleStage.BLENDING]);
    t.restore(snap);
    expect(t.seeds().map((e) => [e.seed.seedId, e.stage])).toEqual([["s1-g0", SeedLifecycleStage.TRAINING]]);
    expect(t.seeds()[0]?.seed).toBe(grafted);
    expect(bits(t.snapshot())).toEqual(bits(snap));
    expect(await steps(t, 3)).toEqual(kept);
  });

  it("a snapshot seed with another blend or gate than the live one is grafted again with the snapshot's", async () => {
    const t = trainer();
    t.enqueue(graftDirective("s1-g0", 0, kernel));
    await steps(t, 2);
    const snap = t.snapshot();
    const seed = snap.seeds[0];
    if (seed === undefined) throw new Error("the snapshot holds no seed");
    const gate = { sharpness: 2, tau: 0.3, lo: 0, hi: 1 };
    for (const changed of [{ blend: "convex" as const }, { gate }]) {
      const live = t.seeds()[0]?.seed;
      t.restore({ ...snap, seeds: [{ ...seed, ...changed }] });
      const [entry] = t.seeds();
      expect(entry?.seed).not.toBe(live);
      expect({ blend: entry?.blend, gate: entry?.gate }).toEqual({
        blend: seed.blend,
        gate: seed.gate,
        ...changed,
      });
      expect(bits(t.snapshot())).toEqual(bits(snap));
      t.restore(snap);
      expect(t.seeds()[0]?.blend).toBe(seed.blend);
    }
  });

  it("across a graft: the seed is gone again, the host trains as if it never came, its id is not named again", async () => {
    const t = trainer();
    await steps(t, 3);
    const snap = t.snapshot();
    const noGraft = await steps(t, 3);
    t.restore(snap);
    t.enqueue(graftDirective("s1-g0", 0, kernel));
    await steps(t, 3);
    expect(t.seeds().map((e) => e.seed.seedId)).toEqual(["s1-g0"]);
    t.restore(snap);
    expect(t.seeds()).toEqual([]);
    // The free slot names the next generation: s1-g0 was used (Kasmina knows it) and is not reused.
    expect(t.slotStates()[0]?.seedId).toBe("s1-g1");
    expect(bits(t.snapshot())).toEqual(bits(snap));
    expect(await steps(t, 3)).toEqual(noGraft);
  });

  it("across a cull: the seed is grafted again with its stage, parameters and optimizer state", async () => {
    const t = trainer();
    t.enqueue(graftDirective("s1-g0", 0, kernel));
    await steps(t, 4);
    const snap = t.snapshot();
    const kept = await steps(t, 2);
    t.restore(snap);
    t.enqueue(directive("s1-g0", 1, { action: "remove", stage: SeedLifecycleStage.CULLED }));
    await steps(t, 2);
    expect(t.seeds()).toEqual([]);
    t.restore(snap);
    expect(t.seeds().map((e) => [e.seed.seedId, e.stage])).toEqual([["s1-g0", SeedLifecycleStage.TRAINING]]);
    expect(bits(t.snapshot())).toEqual(bits(snap));
    expect(await steps(t, 2)).toEqual(kept);
  });
});
