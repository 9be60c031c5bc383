/**
 * Per-step gradient measures of the live seeds (interface gradients at their slots) and the PCGrad
 * aggregation of the seeds' and the host's contributions to the shared host parameters.
 */
import { SeedLifecycleStage } from "../../contracts/enums.ts";
import type { StepResult } from "../../nn/model/runner.ts";
import type { SeedEntry } from "../../nn/model/seed-registry.ts";
import { cosine, norm, pcgrad } from "../../nn/optim/pcgrad.ts";
import type { Rng } from "../../nn/rng.ts";

/** One seed's measures for one step. */
export interface SeedStepMeasure {
  readonly seedId: string;
  /** ‖∂L/∂h‖ along the seed path at its slot's input (0 when its slot is wired as identity). */
  readonly interfaceGradientNorm: number;
  /** interfaceGradientNorm / (it + the host path's norm at the slot); 0 when both are 0. */
  readonly gradientShare: number;
  /** Cosine between the seed path's and the host path's ∂L/∂h at the slot (0 without both). */
  readonly gradientCosine: number;
  /** PCGrad projections its contribution to the shared host parameters needed (0 without one). */
  readonly conflicts: number;
  readonly conflictRatio: number;
}

/** What one step's aggregation found. */
export interface StepAggregation {
  readonly seeds: readonly SeedStepMeasure[];
  /** Contributions to the shared host parameters (host + seeds with one); < 2 means nothing to project. */
  readonly contributions: number;
  /** PCGrad's conflict ratio over all contributions (0 with fewer than 2). */
  readonly conflictRatio: number;
  /** Whether the shared parameters' gradients in `result.grads` were replaced by PCGrad's. */
  readonly applied: boolean;
}

/** The reference's stage weight: BLENDING 0.5, fully active stages 1.0, before blending 0.25. */
function stageWeight(stage: SeedLifecycleStage): number {
  switch (stage) {
    case SeedLifecycleStage.BLENDING:
      return 0.5;
    case SeedLifecycleStage.SHADOWING:
    case SeedLifecycleStage.PROBATIONARY:
    case SeedLifecycleStage.FOSSILIZED:
      return 1;
    default:
      return 0.25;
  }
}

/** Aggregation weight of a seed's contribution (the reference's max(0.1, stage·(0.5 + 0.5·α))); the host's is 1. */
export function seedWeight(stage: SeedLifecycleStage, alpha: number): number {
  return Math.max(0.1, stageWeight(stage) * (0.5 + 0.5 * alpha));
}

/**
 * Measures each live seed's interface gradients in `result` and runs PCGrad over the contributions to
 * the host parameters shared by the host path and the seed paths: each seed's (the runner's
 * `shared` gradients) and the host's (the total minus the seeds'). With `apply`, the shared
 * parameters' gradients in `result.grads` are replaced by n × PCGrad's weighted mean (n
 * contributions), so equal weights and no conflict give back the plain gradient.
 */
export function aggregateStep(
  result: StepResult,
  seeds: readonly { readonly entry: SeedEntry; readonly alpha: number }[],
  rng: Rng,
  apply: boolean,
): StepAggregation {
  const sharedNames = new Set<string>();
  const withShare: { readonly entry: SeedEntry; readonly alpha: number }[] = [];
  for (const s of seeds) {
    const i = result.interfaces.get(s.entry.slotId);
    if (!i || i.shared.size === 0) continue;
    withShare.push(s);
    for (const name of i.shared.keys()) sharedNames.add(name);
  }
  const names = [...sharedNames].sort();
  const offsets = new Map<string, number>();
  let length = 0;
  for (const name of names) {
    const total = result.grads.get(name);
    if (!total) throw new Error(`aggregateStep: no gradient for shared parameter '${name}'`);
    offsets.set(name, length);
    length += total.length;
  }
  const conflictsBySeed = new Map<string, { conflicts: number; ratio: number }>();
  let conflictRatio = 0;
  const contributions = withShare.length === 0 ? 0 : withShare.length + 1;
  if (contributions >= 2) {
    const host = new Float64Array(length);
    for (const name of names) {
      const total = result.grads.get(name) as Float32Array;
      host.set(total, offsets.get(name));
    }
    const parts = withShare.map(({ entry, alpha }) => {
      const grad = new Float64Array(length);
      const shared = result.interfaces.get(entry.slotId)?.shared ?? new Map<string, Float32Array>();
      for (const [name, g] of shared) {
        const at = offsets.get(name) as number;
        for (let k = 0; k < g.length; k++) {
          const v = g[k] as number;
          grad[at + k] = v;
          host[at + k] = (host[at + k] as number) - v;
        }
      }
      return { id: entry.seed.seedId, grad, weight: seedWeight(entry.stage, alpha) };
    });
    const out = pcgrad([{ id: "host", grad: host, weight: 1 }, ...parts], rng);
    conflictRatio = out.conflictRatio;
    for (const o of out.outcomes)
      conflictsBySeed.set(o.id, { conflicts: o.conflicts, ratio: o.conflictRatio });
    if (apply) {
      for (const name of names) {
        const g = result.grads.get(name) as Float32Array;
        const at = offsets.get(name) as number;
        for (let k = 0; k < g.length; k++) g[k] = contributions * (out.grad[at + k] as number);
      }
    }
  }
  const measures = seeds.map(({ entry }) => {
    const i = result.interfaces.get(entry.slotId);
    const seedNorm = i ? norm(i.seed) : 0;
    const hostNorm = i?.host ? norm(i.host) : 0;
    const c = conflictsBySeed.get(entry.seed.seedId);
    return {
      seedId: entry.seed.seedId,
      interfaceGradientNorm: seedNorm,
      gradientShare: seedNorm + hostNorm > 0 ? seedNorm / (seedNorm + hostNorm) : 0,
      gradientCosine: i?.host ? cosine(i.host, i.seed) : 0,
      conflicts: c?.conflicts ?? 0,
      conflictRatio: c?.ratio ?? 0,
    };
  });
  return { seeds: measures, contributions, conflictRatio, applied: apply && contributions >= 2 };
}
