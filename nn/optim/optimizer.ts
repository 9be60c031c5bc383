/**
 * The optimizer base: named parameter groups (each with its own learning rate or schedule,
 * hyperparameters, step count and per-parameter state buffers), strict gradient lookup, and
 * snapshots of the whole state. Subclasses provide the per-parameter update, run as WebAssembly
 * SIMD kernels (simd/). State buffers live in the kernels' memory for good (only parameters and
 * gradients are copied per update); snapshots copy them out as Float32Arrays.
 */
import type { ParameterStore } from "../params/store.ts";
import { type Gradients, gradientOf } from "./grads.ts";
import type { LrSchedule } from "./schedule.ts";
import type { MemoryRegion } from "./simd/kernel-memory.ts";
import { OptimizerKernels } from "./simd/runner.ts";

/** A fixed learning rate, or a schedule evaluated at the group's own 0-based step count. */
export type LrSpec = number | LrSchedule;

/** Options of a group: its learning rate plus any hyperparameter that differs from the optimizer's. */
export type GroupOptions<H> = Partial<H> & { readonly lr?: LrSpec };

/** One group inside an optimizer snapshot. */
export interface GroupSnapshot<H> {
  readonly params: readonly string[];
  readonly step: number;
  readonly lr: LrSpec;
  readonly hyper: Readonly<H>;
  /** State buffers: `slots[i][k]` is slot k of `params[i]`. */
  readonly slots: readonly (readonly Float32Array[])[];
}

/** A copy of an optimizer's whole state, taken by `snapshot`. */
export interface OptimizerSnapshot<H> {
  readonly family: string;
  readonly groups: ReadonlyMap<string, GroupSnapshot<H>>;
}

interface Group<H> {
  readonly params: readonly string[];
  step: number;
  lr: LrSpec;
  hyper: Readonly<H>;
  /** `slots[i][k]`: state buffer k of `params[i]`, a region of the kernels' memory. */
  readonly slots: readonly (readonly MemoryRegion[])[];
}

function checkLr(lr: LrSpec, where: string): void {
  if (typeof lr === "number" && (!Number.isFinite(lr) || lr < 0)) {
    throw new Error(`${where}.lr must be a finite number >= 0, got ${String(lr)}`);
  }
}

/** Base class of SGD and AdamW. */
export abstract class Optimizer<H extends object> {
  /** "sgd" or "adamw". */
  abstract readonly family: string;
  protected readonly store: ParameterStore;
  /** The update kernels, with this optimizer's own scratch memory. */
  protected readonly kernels: OptimizerKernels;
  private readonly defaults: Readonly<H>;
  private readonly defaultLr: LrSpec;
  private readonly groups = new Map<string, Group<H>>();
  private readonly owner = new Map<string, string>();

  /** Throws when hyperparameters are invalid or the runtime lacks WebAssembly SIMD. */
  protected constructor(store: ParameterStore, defaults: H, lr: LrSpec) {
    checkLr(lr, "optimizer");
    this.validate(defaults, "optimizer");
    this.kernels = new OptimizerKernels();
    this.store = store;
    this.defaults = Object.freeze({ ...defaults });
    this.defaultLr = lr;
  }

  /** Checks hyperparameters; throws an error naming the field (prefixed by `where`). */
  protected abstract validate(hyper: H, where: string): void;

  /** Number of state buffers each parameter needs under `hyper`. */
  protected abstract slotCount(hyper: H): number;

  /**
   * Updates one parameter in place. `step` is the 1-based count including this update;
   * `slots` are the parameter's state buffers (same length as `p`) in the kernels' memory.
   */
  protected abstract update(
    p: Float32Array,
    g: Float32Array,
    slots: readonly MemoryRegion[],
    lr: number,
    hyper: Readonly<H>,
    step: number,
  ): void;

  /**
   * Adds group `name` over existing parameters `params` (each parameter in at most one group),
   * with state buffers zeroed and step count 0. Options override the optimizer's learning rate
   * and hyperparameters for this group only.
   */
  addGroup(name: string, params: readonly string[], options: GroupOptions<H> = {}): void {
    if (name.length === 0) throw new Error("optimizer group name must not be empty");
    if (this.groups.has(name)) throw new Error(`optimizer group "${name}" already exists`);
    if (params.length === 0) throw new Error(`optimizer group "${name}" has no parameters`);
    const { lr = this.defaultLr, ...rest } = options;
    const hyper = { ...this.defaults, ...rest } as H;
    checkLr(lr, `group "${name}"`);
    this.validate(hyper, `group "${name}"`);
    const seen = new Set<string>();
    for (const p of params) {
      if (seen.has(p)) throw new Error(`optimizer group "${name}" lists parameter "${p}" twice`);
      seen.add(p);
      const other = this.owner.get(p);
      if (other !== undefined) throw new Error(`parameter "${p}" is already in optimizer group "${other}"`);
      this.store.get(p);
    }
    const k = this.slotCount(hyper);
    const slots = params.map((p) => {
      const n = this.store.get(p).length;
      return Array.from({ length: k }, () => this.kernels.memory.allocate(n));
    });
    this.groups.set(name, { params: [...params], step: 0, lr, hyper: Object.freeze(hyper), slots });
    for (const p of params) this.owner.set(p, name);
  }

  /** Removes group `name` and releases its state (its parameters stay in the store). */
  removeGroup(name: string): void {
    const g = this.group(name);
    for (const ps of g.slots) for (const s of ps) this.kernels.memory.release(s);
    for (const p of g.params) this.owner.delete(p);
    this.groups.delete(name);
  }

  /** Bytes of the kernels' memory held by state buffers (each padded to 16 bytes). */
  get stateBytes(): number {
    return this.kernels.memory.liveBytes - this.kernels.scratchBytes;
  }

  /** Bytes the kernels' WebAssembly memory has reserved (state, scratch and free space; never shrinks). */
  get kernelMemoryBytes(): number {
    return this.kernels.memory.reservedBytes;
  }

  private group(name: string): Group<H> {
    const g = this.groups.get(name);
    if (g === undefined) throw new Error(`unknown optimizer group "${name}"`);
    return g;
  }

  /** Whether group `name` exists. */
  hasGroup(name: string): boolean {
    return this.groups.has(name);
  }

  /** Group names in insertion order. */
  groupNames(): string[] {
    return [...this.groups.keys()];
  }

  /** The parameter names of group `name`. */
  groupParams(name: string): readonly string[] {
    return this.group(name).params;
  }

  /** The hyperparameters of group `name`. */
  groupHyper(name: string): Readonly<H> {
    return this.group(name).hyper;
  }

  /** Number of updates group `name` has received. */
  groupStep(name: string): number {
    return this.group(name).step;
  }

  /** Replaces the learning rate (number or schedule) of group `name`. */
  setLr(name: string, lr: LrSpec): void {
    checkLr(lr, `group "${name}"`);
    this.group(name).lr = lr;
  }

  /** The learning rate group `name` will use on its next update. */
  lr(name: string): number {
    const g = this.group(name);
    return this.resolveLr(g, name);
  }

  private resolveLr(g: Group<H>, name: string): number {
    const lr = typeof g.lr === "number" ? g.lr : g.lr(g.step);
    if (!Number.isFinite(lr) || lr < 0) {
      throw new Error(`group "${name}": schedule gave lr ${String(lr)} at step ${g.step}`);
    }
    return lr;
  }

  /**
   * One update of the given groups (default: all). Every parameter of those groups must have a
   * gradient of its length in `grads` (checked before anything is written); other entries of
   * `grads` are ignored.
   */
  step(grads: Gradients, groups?: readonly string[]): void {
    const names = groups ?? this.groupNames();
    for (const name of names) {
      const g = this.group(name);
      for (const p of g.params) {
        const grad = gradientOf(grads, p);
        if (grad === undefined)
          throw new Error(`no gradient for parameter "${p}" (optimizer group "${name}")`);
        const n = this.store.get(p).length;
        if (grad.length !== n) {
          throw new Error(`gradient for parameter "${p}" has ${grad.length} values, parameter has ${n}`);
        }
      }
    }
    for (const name of names) {
      const g = this.group(name);
      const lr = this.resolveLr(g, name);
      const step = g.step + 1;
      for (let i = 0; i < g.params.length; i++) {
        const p = g.params[i] as string;
        this.update(
          this.store.get(p),
          gradientOf(grads, p) as Float32Array,
          g.slots[i] ?? [],
          lr,
          g.hyper,
          step,
        );
      }
      g.step = step;
    }
  }

  /**
   * Copies the whole state (groups, step counts, learning rates, hyperparameters, state buffers).
   * Passing a previous snapshot with the same groups reuses its buffers (no allocation).
   */
  snapshot(reuse?: OptimizerSnapshot<H>): OptimizerSnapshot<H> {
    const canReuse = reuse !== undefined && this.matches(reuse);
    const groups = new Map<string, GroupSnapshot<H>>();
    for (const [name, g] of this.groups) {
      const old = canReuse ? reuse.groups.get(name) : undefined;
      const slots = g.slots.map((ps, i) =>
        ps.map((s, k) => {
          const live = this.kernels.memory.view(s);
          const target = old?.slots[i]?.[k];
          if (target === undefined) return live.slice();
          target.set(live);
          return target;
        }),
      );
      groups.set(name, { params: g.params, step: g.step, lr: g.lr, hyper: g.hyper, slots });
    }
    return { family: this.family, groups };
  }

  private matches(snap: OptimizerSnapshot<H>): boolean {
    if (snap.family !== this.family || snap.groups.size !== this.groups.size) return false;
    for (const [name, g] of this.groups) {
      const s = snap.groups.get(name);
      if (s === undefined || s.params.length !== g.params.length) return false;
      if (!g.params.every((p, i) => s.params[i] === p)) return false;
      if (!g.slots.every((ps, i) => ps.length === s.slots[i]?.length)) return false;
    }
    return true;
  }

  /**
   * Restores a snapshot into the existing state buffers. The snapshot must have exactly this
   * optimizer's family, groups and parameters; a mismatch is an error naming it.
   */
  restore(snap: OptimizerSnapshot<H>): void {
    if (snap.family !== this.family) {
      throw new Error(`optimizer snapshot is for "${snap.family}", optimizer is "${this.family}"`);
    }
    for (const name of snap.groups.keys()) {
      if (!this.groups.has(name))
        throw new Error(`optimizer snapshot has group "${name}" that the optimizer lacks`);
    }
    for (const [name, g] of this.groups) {
      const s = snap.groups.get(name);
      if (s === undefined) throw new Error(`optimizer snapshot lacks group "${name}"`);
      if (s.params.length !== g.params.length || !g.params.every((p, i) => s.params[i] === p)) {
        throw new Error(`optimizer snapshot group "${name}" has different parameters`);
      }
      g.slots.forEach((ps, i) => {
        const src = s.slots[i];
        if (
          src === undefined ||
          src.length !== ps.length ||
          !ps.every((b, k) => src[k]?.length === b.length)
        ) {
          throw new Error(`optimizer snapshot group "${name}" state of "${g.params[i]}" has the wrong size`);
        }
      });
    }
    for (const [name, g] of this.groups) {
      const s = snap.groups.get(name) as GroupSnapshot<H>;
      g.step = s.step;
      g.lr = s.lr;
      g.hyper = s.hyper;
      g.slots.forEach((ps, i) => {
        ps.forEach((buf, k) => {
          this.kernels.memory.view(buf).set(s.slots[i]?.[k] as Float32Array);
        });
      });
    }
  }
}
