/** AdamW (decoupled weight decay, bias-corrected moments), as torch.optim.AdamW (amsgrad off). */
import type { ParameterStore } from "../params/store.ts";
import { type LrSpec, Optimizer } from "./optimizer.ts";
import type { MemoryRegion } from "./simd/kernel-memory.ts";

/** AdamW hyperparameters (per group). */
export interface AdamWHyper {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** Decoupled decay: p ← p·(1 − lr·weightDecay) before the Adam update. */
  readonly weightDecay: number;
}

/** torch.optim.AdamW's defaults. */
export const ADAMW_DEFAULTS: AdamWHyper = Object.freeze({
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
});

/**
 * Per step t (1-based, per group): p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
 * p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps). State slots: [m, v]. Step constants are
 * computed in float64; the per-element update runs in float32 (4 lanes, WebAssembly SIMD), as torch's.
 */
export class AdamW extends Optimizer<AdamWHyper> {
  readonly family = "adamw";

  /** `options.lr` is the default for groups; unspecified hyperparameters take ADAMW_DEFAULTS. */
  constructor(store: ParameterStore, options: Partial<AdamWHyper> & { readonly lr: LrSpec }) {
    const { lr, ...rest } = options;
    super(store, { ...ADAMW_DEFAULTS, ...rest }, lr);
  }

  protected validate(h: AdamWHyper, where: string): void {
    if (!(h.beta1 >= 0 && h.beta1 < 1)) throw new Error(`${where}.beta1 must be in [0, 1), got ${h.beta1}`);
    if (!(h.beta2 >= 0 && h.beta2 < 1)) throw new Error(`${where}.beta2 must be in [0, 1), got ${h.beta2}`);
    if (!(h.eps > 0 && Number.isFinite(h.eps)))
      throw new Error(`${where}.eps must be a finite number > 0, got ${h.eps}`);
    if (!(h.weightDecay >= 0 && Number.isFinite(h.weightDecay))) {
      throw new Error(`${where}.weightDecay must be a finite number >= 0, got ${h.weightDecay}`);
    }
  }

  protected slotCount(): number {
    return 2;
  }

  protected update(
    p: Float32Array,
    g: Float32Array,
    slots: readonly MemoryRegion[],
    lr: number,
    h: AdamWHyper,
    step: number,
  ): void {
    const m = slots[0];
    const v = slots[1];
    if (m === undefined || v === undefined) throw new Error("AdamW state buffers are missing");
    const b1 = h.beta1;
    const b2 = h.beta2;
    this.kernels.adamw(p, g, m, v, {
      b1,
      b2,
      c1: 1 - b1,
      c2: 1 - b2,
      decayRate: lr * h.weightDecay,
      stepSize: lr / (1 - b1 ** step),
      invBc2Sqrt: 1 / Math.sqrt(1 - b2 ** step),
      eps: h.eps,
    });
  }
}
