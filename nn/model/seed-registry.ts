import { SeedLifecycleStage } from "../../contracts/enums.ts";
import type { Gradients } from "../optim/grads.ts";
import type { GroupOptions, Optimizer } from "../optim/optimizer.ts";
import { graftSeed, removeSeedParams } from "./graft.ts";
import { seedParamPrefix } from "./kernel.ts";
import type { ModelRunner } from "./runner.ts";
import { type BlendMode, type ConfidenceGate, type GraftedSeed, wiringForStage } from "./slots.ts";

/** What a graft needs: where, which seed, its kernel bytes and their expected digest, and how it blends. */
export interface GraftRequest {
  readonly slotId: string;
  readonly seedId: string;
  /** The kernel artifact (ONNX bytes). */
  readonly artifact: Uint8Array;
  /** sha256 (hex) the artifact must have, e.g. from the blueprint descriptor or the kernel store. */
  readonly expectedSha256: string;
  readonly blend: BlendMode;
  readonly gate?: ConfidenceGate;
}

/** A live seed: its slot, stage, blend and optimizer group. */
export interface SeedEntry {
  readonly seed: GraftedSeed;
  readonly slotId: string;
  readonly stage: SeedLifecycleStage;
  readonly blend: BlendMode;
  readonly gate: ConfidenceGate | undefined;
  /** Optimizer group holding the seed's parameters: `seed/<seedId>`. */
  readonly group: string;
  /** The parameter store names of the seed. */
  readonly params: readonly string[];
}

interface MutableEntry extends Omit<SeedEntry, "stage"> {
  stage: SeedLifecycleStage;
}

/** Optimizer group name of a seed. */
export const seedGroupName = (seedId: string): string => `seed/${seedId}`;

/**
 * The live seeds of one host, one per slot. Each operation keeps the runner's wiring, the parameter
 * store, the optimizer groups and the runner's session cache consistent in one call:
 * - `graft`: digest check, parameters into the store, optimizer group added; stage GERMINATED
 *   (identity wiring). Nothing changes when a check fails.
 * - `setStage`: the slot's wiring from `wiringForStage`; α of the slot is cleared.
 * - `setAlpha`: α of the slot, fed every step through `alphas`.
 * - `cull`: identity wiring, sessions reading the seed released, optimizer state dropped, parameters
 *   removed from the store.
 */
export class SeedRegistry<H extends object> {
  private readonly bySeed = new Map<string, MutableEntry>();
  private readonly bySlot = new Map<string, string>();
  private readonly alphaMap = new Map<string, number>();

  /** `groupOptions` apply to every seed's optimizer group (e.g. its own learning rate). */
  constructor(
    private readonly runner: ModelRunner,
    private readonly optimizer: Optimizer<H>,
    private readonly groupOptions: GroupOptions<H> = {},
  ) {}

  /** Grafts a seed into a free slot; the artifact must have the expected sha256. */
  graft(request: GraftRequest): SeedEntry {
    const { slotId, seedId } = request;
    const slot = this.runner.layout.slots.find((s) => s.slotId === slotId);
    if (!slot) throw new Error(`graft '${seedId}': unknown slot '${slotId}'`);
    const occupant = this.bySlot.get(slotId);
    if (occupant !== undefined)
      throw new Error(`graft '${seedId}': slot '${slotId}' already holds seed '${occupant}'`);
    if (this.bySeed.has(seedId)) throw new Error(`graft '${seedId}': seed is already grafted`);
    const store = this.runner.store;
    const prefix = seedParamPrefix(seedId);
    const stale = store.names().filter((n) => n.startsWith(prefix));
    if (stale.length > 0)
      throw new Error(`graft '${seedId}': the store already holds its parameters (${stale.join(", ")})`);
    const seed = graftSeed(store, seedId, request.artifact, request.expectedSha256);
    const params = seed.kernel.params.map((p) => prefix + p.name);
    const group = seedGroupName(seedId);
    try {
      const { kernel } = seed;
      if (kernel.inputWidth !== slot.width || kernel.outputWidth !== slot.width) {
        throw new Error(
          `graft '${seedId}': slot '${slotId}' has width ${slot.width}, kernel maps ${kernel.inputWidth} → ${kernel.outputWidth}`,
        );
      }
      this.optimizer.addGroup(group, params, this.groupOptions);
    } catch (e) {
      removeSeedParams(store, seed);
      throw e;
    }
    const entry: MutableEntry = {
      seed,
      slotId,
      stage: SeedLifecycleStage.GERMINATED,
      blend: request.blend,
      gate: request.gate,
      group,
      params,
    };
    this.bySeed.set(seedId, entry);
    this.bySlot.set(slotId, seedId);
    return { ...entry };
  }

  /** Moves a live seed to `stage` and rewires its slot; CULLED is `cull`, not a stage change. */
  setStage(seedId: string, stage: SeedLifecycleStage): void {
    const entry = this.entry(seedId);
    if (stage === SeedLifecycleStage.CULLED)
      throw new Error(`seed '${seedId}': CULLED removes the seed, call cull`);
    this.runner.setWiring(entry.slotId, wiringForStage(stage, entry.seed, entry.blend, entry.gate));
    entry.stage = stage;
    this.alphaMap.delete(entry.slotId);
  }

  /** Sets α of a live seed's slot (a finite number in [0, 1]), fed from the next step on. */
  setAlpha(seedId: string, alpha: number): void {
    const entry = this.entry(seedId);
    if (!(Number.isFinite(alpha) && alpha >= 0 && alpha <= 1))
      throw new Error(`seed '${seedId}': alpha must be in [0, 1], got ${String(alpha)}`);
    this.alphaMap.set(entry.slotId, alpha);
  }

  /** Removes a seed completely: wiring, cached sessions reading it, optimizer state, parameters. */
  cull(seedId: string): void {
    const entry = this.entry(seedId);
    this.runner.setWiring(entry.slotId, { kind: "identity" });
    this.runner.releaseSessionsOf(seedId);
    this.optimizer.removeGroup(entry.group);
    removeSeedParams(this.runner.store, entry.seed);
    this.alphaMap.delete(entry.slotId);
    this.bySlot.delete(entry.slotId);
    this.bySeed.delete(seedId);
  }

  /** α by slot id, for `StepInputs.alphas`. */
  get alphas(): ReadonlyMap<string, number> {
    return this.alphaMap;
  }

  /** The live seed `seedId`. */
  get(seedId: string): SeedEntry {
    return { ...this.entry(seedId) };
  }

  /** Every live seed, in graft order. */
  seeds(): SeedEntry[] {
    return [...this.bySeed.values()].map((e) => ({ ...e }));
  }

  /**
   * The optimizer groups the current training graph has gradients for: every group that is not a
   * seed's, plus the groups of seeds whose wiring reads them (TRAINING and later).
   */
  trainingGroups(): string[] {
    const idle = new Set(
      [...this.bySeed.values()].filter((e) => !this.runner.wirings.has(e.slotId)).map((e) => e.group),
    );
    return this.optimizer.groupNames().filter((g) => !idle.has(g));
  }

  /** One optimizer update of `trainingGroups()` from a training step's gradients. */
  step(grads: Gradients): void {
    this.optimizer.step(grads, this.trainingGroups());
  }

  private entry(seedId: string): MutableEntry {
    const e = this.bySeed.get(seedId);
    if (!e) throw new Error(`seed '${seedId}' is not grafted`);
    return e;
  }
}
