import { describe, expect, it } from "vitest";
import { SeedLifecycleStage } from "../../contracts/enums.ts";
import type { StepResult } from "../../nn/model/runner.ts";
import type { SeedEntry } from "../../nn/model/seed-registry.ts";
import { pcgrad } from "../../nn/optim/pcgrad.ts";
import { createRng } from "../../nn/rng.ts";
import { aggregateStep, seedWeight } from "./gradient-aggregation.ts";

const entry = (seedId: string, slotId: string, stage: SeedLifecycleStage): SeedEntry =>
  ({ slotId, stage, seed: { seedId }, params: [`seed/${seedId}/w`] }) as unknown as SeedEntry;

/** Host parameter `a` (3 values) upstream of slot s1; `b` (2 values) upstream of s1 and s2. */
function result(): StepResult {
  return {
    loss: 1,
    logits: new Float32Array(2),
    grads: new Map([
      ["a", Float32Array.from([1, 2, 3])],
      ["b", Float32Array.from([-1, 0.5])],
      ["seed/x/w", Float32Array.from([9])],
    ]),
    interfaces: new Map([
      [
        "s1",
        {
          host: Float32Array.from([3, 4]),
          seed: Float32Array.from([-3, -4]),
          shared: new Map([
            ["a", Float32Array.from([-2, 0, 1])],
            ["b", Float32Array.from([1, 1])],
          ]),
        },
      ],
      [
        "s2",
        {
          host: Float32Array.from([1, 0]),
          seed: Float32Array.from([0, 2]),
          shared: new Map([["b", Float32Array.from([0.5, -2])]]),
        },
      ],
    ]),
  };
}

describe("aggregateStep", () => {
  const seeds = [
    { entry: entry("x", "s1", SeedLifecycleStage.BLENDING), alpha: 0.5 },
    { entry: entry("y", "s2", SeedLifecycleStage.FOSSILIZED), alpha: 1 },
  ];

  it("splits the shared gradients into host and seed contributions and applies n × PCGrad's weighted mean", () => {
    const r = result();
    const out = aggregateStep(r, seeds, createRng(4), true);
    // Layout: a (3) then b (2); the host's contribution is the total minus the seeds'.
    const want = pcgrad(
      [
        { id: "host", grad: Float64Array.from([3, 2, 2, -2.5, 1.5]), weight: 1 },
        {
          id: "x",
          grad: Float64Array.from([-2, 0, 1, 1, 1]),
          weight: seedWeight(SeedLifecycleStage.BLENDING, 0.5),
        },
        {
          id: "y",
          grad: Float64Array.from([0, 0, 0, 0.5, -2]),
          weight: seedWeight(SeedLifecycleStage.FOSSILIZED, 1),
        },
      ],
      createRng(4),
    );
    expect(out.contributions).toBe(3);
    expect(out.applied).toBe(true);
    expect(out.conflictRatio).toBe(want.conflictRatio);
    const got = [...(r.grads.get("a") ?? []), ...(r.grads.get("b") ?? [])];
    got.forEach((v, k) => {
      expect(v).toBeCloseTo(3 * (want.grad[k] as number), 5);
    });
    expect(Array.from(r.grads.get("seed/x/w") ?? [])).toEqual([9]);
    expect(out.seeds.map((s) => s.conflicts)).toEqual(want.outcomes.slice(1).map((o) => o.conflicts));
    expect(out.seeds.some((s) => s.conflicts > 0)).toBe(true);
  });

  it("measures norm, share and cosine at each slot, and leaves the gradients alone without apply", () => {
    const r = result();
    const out = aggregateStep(r, seeds, createRng(4), false);
    expect(out.applied).toBe(false);
    expect(Array.from(r.grads.get("a") ?? [])).toEqual([1, 2, 3]);
    const [x, y] = out.seeds;
    expect(x).toMatchObject({
      seedId: "x",
      interfaceGradientNorm: 5,
      gradientShare: 0.5,
      gradientCosine: -1,
    });
    expect(y).toMatchObject({ seedId: "y", interfaceGradientNorm: 2, gradientCosine: 0 });
    expect(y?.gradientShare).toBeCloseTo(2 / 3, 12);
  });

  it("a seed whose slot reports nothing (identity, GERMINATED) measures zero; no shared contribution, no PCGrad", () => {
    const r: StepResult = { ...result(), interfaces: new Map() };
    const out = aggregateStep(
      r,
      [{ entry: entry("z", "s3", SeedLifecycleStage.GERMINATED), alpha: 0 }],
      createRng(1),
      true,
    );
    expect(out).toMatchObject({ contributions: 0, applied: false, conflictRatio: 0 });
    expect(out.seeds).toEqual([
      {
        seedId: "z",
        interfaceGradientNorm: 0,
        gradientShare: 0,
        gradientCosine: 0,
        conflicts: 0,
        conflictRatio: 0,
      },
    ]);
    expect(Array.from(r.grads.get("a") ?? [])).toEqual([1, 2, 3]);
  });
});
