/** SGD with momentum, dampening, Nesterov and (coupled) weight decay, as torch.optim.SGD. */
import type { ParameterStore } from "../params/store.ts";
import { type LrSpec, Optimizer } from "./optimizer.ts";
import type { MemoryRegion } from "./simd/kernel-memory.ts";

/** SGD hyperparameters (per group). */
export interface SgdHyper {
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  /** L2 penalty added to the gradient: g + weightDecay·p. */
  readonly weightDecay: number;
}

/** torch.optim.SGD's defaults. */
export const SGD_DEFAULTS: SgdHyper = Object.freeze({
  momentum: 0,
  dampening: 0,
  nesterov: false,
  weightDecay: 0,
});

/**
 * Per step: g ← g + wd·p; with momentum, buf ← g on the first step, else momentum·buf + (1 − dampening)·g,
 * then g ← g + momentum·buf (Nesterov) or buf; p ← p − lr·g. The per-element update runs in float32
 * (4 lanes, WebAssembly SIMD), as torch's.
 */
export class Sgd extends Optimizer<SgdHyper> {
  readonly family = "sgd";

  /** `options.lr` is the default for groups; unspecified hyperparameters take SGD_DEFAULTS. */
  constructor(store: ParameterStore, options: Partial<SgdHyper> & { readonly lr: LrSpec }) {
    const { lr, ...rest } = options;
    super(store, { ...SGD_DEFAULTS, ...rest }, lr);
  }

  protected validate(h: SgdHyper, where: string): void {
    if (!(h.momentum >= 0 && h.momentum < 1))
      throw new Error(`${where}.momentum must be in [0, 1), got ${h.momentum}`);
    if (!(h.dampening >= 0 && h.dampening <= 1)) {
      throw new Error(`${where}.dampening must be in [0, 1], got ${h.dampening}`);
    }
    if (!(h.weightDecay >= 0 && Number.isFinite(h.weightDecay))) {
      throw new Error(`${where}.weightDecay must be a finite number >= 0, got ${h.weightDecay}`);
    }
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      throw new Error(`${where}.nesterov needs momentum > 0 and dampening 0`);
    }
  }

  protected slotCount(h: SgdHyper): number {
    return h.momentum > 0 ? 1 : 0;
  }

  protected update(
    p: Float32Array,
    g: Float32Array,
    slots: readonly MemoryRegion[],
    lr: number,
    h: SgdHyper,
    step: number,
  ): void {
    const buf = slots[0];
    if (buf === undefined) {
      this.kernels.sgd(p, g, lr, h.weightDecay);
    } else if (step === 1) {
      this.kernels.sgdMomentumFirst(p, g, buf, lr, h.weightDecay, h.momentum, h.nesterov);
    } else {
      this.kernels.sgdMomentum(p, g, buf, lr, h.weightDecay, h.momentum, 1 - h.dampening, h.nesterov);
    }
  }
}
