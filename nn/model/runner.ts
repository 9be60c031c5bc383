import type * as ort from "onnxruntime-node";
import type { ParameterStore } from "../params/store.ts";
import type { Rng } from "../rng.ts";
import { dropoutInputName, INPUT_NAME, TARGET_NAME } from "./build.ts";
import {
  type CompiledGraph,
  compileEval,
  compileTraining,
  contributionOutputName,
  gradOutputName,
  hostInterfaceOutputName,
  seedInterfaceOutputName,
  wiringKey,
} from "./compile.ts";
import { createSession, floatFeed, floatResult, int32Feed, type SessionConfig } from "./session.ts";
import { alphaInputName, alphaVecInputName, type SlotWiring } from "./slots.ts";
import { layoutOf, type ModelLayout, type ModelSpec } from "./spec.ts";

/** One batch and the per-step graph inputs. */
export interface StepInputs {
  /** Row-major [batchSize, inputWidth]. */
  readonly x: Float32Array;
  /** int32 labels [batchSize] for softmax cross-entropy, float targets [batchSize, out] otherwise. */
  readonly target: Int32Array | Float32Array;
  readonly batchSize: number;
  /** α per blending slot id (required for every slot wired as "blend"). */
  readonly alphas?: ReadonlyMap<string, number>;
  /** Per-channel α vectors per slot id (required for "channel" blends). */
  readonly alphaVecs?: ReadonlyMap<string, Float32Array>;
  /** Draws dropout masks in training (required when the model has dropout with p > 0). */
  readonly dropoutRng?: Rng;
}

/**
 * Interface gradients of one slot for one step, row-major [batchSize, width]: the contributions of the
 * host path and of the seed path to ∂L/∂h at the slot's input activation h (see `SlotInterface`).
 * `host` is absent when the wiring has no host path.
 */
export interface InterfaceGradients {
  readonly host?: Float32Array;
  readonly seed: Float32Array;
  /**
   * The seed path's share of the gradient of each host parameter upstream of the slot (the rest of
   * `StepResult.grads` of that parameter comes from the host path and other slots). Empty for the
   * incubator, whose seed path sends nothing into the host, and unless the runner was built with
   * `sharedContributions`.
   */
  readonly shared: ReadonlyMap<string, Float32Array>;
}

/** Results of a training step. Gradients are keyed by parameter name, interface gradients by slot id. */
export interface StepResult {
  readonly loss: number;
  readonly logits: Float32Array;
  readonly grads: Map<string, Float32Array>;
  readonly interfaces: Map<string, InterfaceGradients>;
}

/** Results of an evaluation run. */
export interface EvalResult {
  readonly loss: number;
  readonly logits: Float32Array;
}

/** The scalar `loss` output; throws unless it holds exactly one value. */
function lossOf(out: ort.InferenceSession.ReturnType): number {
  const loss = floatResult(out, "loss");
  const v = loss[0];
  if (loss.length !== 1 || v === undefined)
    throw new Error(`onnx run: output 'loss' has ${loss.length} values, expected 1`);
  return v;
}

interface CachedSession {
  readonly session: ort.InferenceSession;
  readonly graph: CompiledGraph;
  readonly inputs: ReadonlySet<string>;
  readonly paramFeeds: Map<string, { data: Float32Array; tensor: ort.Tensor }>;
}

/** A cache entry: the session being created, the seeds its wiring reads, and its runs in flight. */
interface CacheEntry {
  readonly ready: Promise<CachedSession>;
  readonly seedIds: ReadonlySet<string>;
  running: number;
  evicted: boolean;
}

/** Default bound of the session cache: train and eval for the current and the previous wiring. */
export const DEFAULT_MAX_SESSIONS = 4;

/**
 * Runs a host model (with its slot wirings) in ONNX Runtime. Training and evaluation sessions are
 * compiled on first use for the current wiring and cached by wiring key, so changing α never
 * recompiles and switching wirings back reuses a session. The cache holds at most `maxSessions`
 * sessions: using a new one evicts and releases the least recently used (after its runs in flight),
 * and `releaseSessionsOf` drops every session whose wiring reads a seed (a culled seed's buffers go
 * with them). Parameters are fed zero-copy from the store's Float32Arrays (optimizers update them
 * in place).
 */
export class ModelRunner {
  /** Parameters, slots and dropouts of the spec. */
  readonly layout: ModelLayout;
  private readonly wiringMap = new Map<string, SlotWiring>();
  /** Sessions by key, least recently used first. */
  private readonly sessions = new Map<string, CacheEntry>();
  private readonly masks = new Map<string, Float32Array>();
  private readonly alphaFeeds = new Map<string, { data: Float32Array; tensor: ort.Tensor }>();
  private compiledTotal = 0;

  constructor(
    readonly spec: ModelSpec,
    readonly store: ParameterStore,
    readonly config: SessionConfig,
    private readonly trainable: (param: string) => boolean = () => true,
    readonly maxSessions: number = DEFAULT_MAX_SESSIONS,
    /**
     * Whether training graphs also output each seed path's share of the upstream host parameters'
     * gradients (`InterfaceGradients.shared`, one extra backward pass per blended seed).
     */
    readonly sharedContributions = false,
  ) {
    if (!Number.isInteger(maxSessions) || maxSessions < 2)
      throw new Error(`maxSessions must be an integer >= 2 (train and eval), got ${maxSessions}`);
    this.layout = layoutOf(spec);
  }

  /** Number of sessions compiled so far, evicted ones included (a wiring change compiles; an α change does not). */
  get compiledSessions(): number {
    return this.compiledTotal;
  }

  /** Number of sessions the cache holds now (at most `maxSessions`). */
  get cachedSessions(): number {
    return this.sessions.size;
  }

  /** Current wiring of every slot that is not identity. */
  get wirings(): ReadonlyMap<string, SlotWiring> {
    return this.wiringMap;
  }

  /** Sets (or with identity, clears) the wiring of a slot; takes effect at the next step. */
  setWiring(slotId: string, wiring: SlotWiring): void {
    if (!this.layout.slots.some((s) => s.slotId === slotId)) throw new Error(`unknown slot '${slotId}'`);
    if (wiring.kind === "identity") this.wiringMap.delete(slotId);
    else this.wiringMap.set(slotId, wiring);
  }

  private entry(mode: "train" | "eval"): CacheEntry {
    const key = `${mode}|${wiringKey(this.wiringMap)}`;
    const cached = this.sessions.get(key);
    if (cached) {
      this.sessions.delete(key);
      this.sessions.set(key, cached);
      return cached;
    }
    const graph =
      mode === "train"
        ? compileTraining(this.spec, this.wiringMap, this.store, this.trainable, this.sharedContributions)
        : compileEval(this.spec, this.wiringMap, this.store);
    const ready = createSession(graph.bytes, this.config).then((session) => ({
      session,
      graph,
      inputs: new Set(session.inputNames),
      paramFeeds: new Map(),
    }));
    const seedIds = new Set<string>();
    for (const w of this.wiringMap.values()) if (w.kind !== "identity") seedIds.add(w.seed.seedId);
    const entry: CacheEntry = { ready, seedIds, running: 0, evicted: false };
    ready.catch(() => {
      if (this.sessions.get(key) === entry) this.sessions.delete(key);
    });
    this.sessions.set(key, entry);
    this.compiledTotal++;
    for (const [oldKey, old] of this.sessions) {
      if (this.sessions.size <= this.maxSessions) break;
      if (old !== entry) void this.evict(oldKey, old);
    }
    return entry;
  }

  /** Drops an entry from the cache; releases it now if idle (the last run in flight does otherwise). */
  private evict(key: string, entry: CacheEntry): Promise<void> {
    this.sessions.delete(key);
    entry.evicted = true;
    return entry.running === 0 ? releaseCreated(entry.ready) : Promise.resolve();
  }

  /** Runs `fn` on the session for the current wiring, keeping it from release until `fn` settles. */
  private async withSession<T>(mode: "train" | "eval", fn: (c: CachedSession) => Promise<T>): Promise<T> {
    const entry = this.entry(mode);
    entry.running++;
    try {
      return await fn(await entry.ready);
    } finally {
      entry.running--;
      if (entry.evicted && entry.running === 0) void releaseCreated(entry.ready);
    }
  }

  /** Compiles (or reuses) the sessions for the current wiring without running them. */
  async prepare(): Promise<void> {
    await Promise.all([this.withSession("train", async () => {}), this.withSession("eval", async () => {})]);
  }

  /**
   * Evicts and releases every cached session whose wiring reads seed `seedId` (e.g. once it is culled),
   * after their runs in flight. Returns how many were evicted.
   */
  releaseSessionsOf(seedId: string): number {
    let n = 0;
    for (const [key, entry] of [...this.sessions]) {
      if (!entry.seedIds.has(seedId)) continue;
      void this.evict(key, entry);
      n++;
    }
    return n;
  }

  private feeds(c: CachedSession, s: StepInputs, mode: "train" | "eval"): Record<string, ort.Tensor> {
    const n = s.batchSize;
    const feeds: Record<string, ort.Tensor> = {
      [INPUT_NAME]: floatFeed(s.x, [n, this.spec.inputWidth]),
    };
    if (c.inputs.has(TARGET_NAME)) {
      if (s.target instanceof Int32Array) feeds[TARGET_NAME] = int32Feed(s.target, [n]);
      else feeds[TARGET_NAME] = floatFeed(s.target, [n, this.layout.outputWidth]);
    }
    for (const name of c.graph.paramNames) {
      const data = this.store.get(name);
      let f = c.paramFeeds.get(name);
      if (!f || f.data !== data) {
        f = { data, tensor: floatFeed(data, this.store.shape(name)) };
        c.paramFeeds.set(name, f);
      }
      feeds[name] = f.tensor;
    }
    for (const slot of this.layout.slots) {
      const alphaName = alphaInputName(slot.slotId);
      if (c.inputs.has(alphaName)) {
        const alpha = s.alphas?.get(slot.slotId);
        if (alpha === undefined || !Number.isFinite(alpha))
          throw new Error(`alphas: slot '${slot.slotId}' needs a finite α`);
        let f = this.alphaFeeds.get(slot.slotId);
        if (!f) {
          const data = new Float32Array(1);
          f = { data, tensor: floatFeed(data, [1]) };
          this.alphaFeeds.set(slot.slotId, f);
        }
        f.data[0] = alpha;
        feeds[alphaName] = f.tensor;
      }
      const vecName = alphaVecInputName(slot.slotId);
      if (c.inputs.has(vecName)) {
        const vec = s.alphaVecs?.get(slot.slotId);
        if (!vec || vec.length !== slot.width) {
          throw new Error(`alphaVecs: slot '${slot.slotId}' needs a vector of ${slot.width} values`);
        }
        feeds[vecName] = floatFeed(vec, [slot.width]);
      }
    }
    if (mode === "train") {
      for (const d of this.layout.dropouts) {
        const name = dropoutInputName(d.name);
        if (!c.inputs.has(name)) continue;
        if (!s.dropoutRng) throw new Error(`dropoutRng: required for dropout layer '${d.name}'`);
        const size = n * d.width;
        let mask = this.masks.get(d.name);
        if (!mask || mask.length !== size) {
          mask = new Float32Array(size);
          this.masks.set(d.name, mask);
        }
        const keep = 1 / (1 - d.p);
        for (let i = 0; i < size; i++) mask[i] = s.dropoutRng.next() < d.p ? 0 : keep;
        feeds[name] = floatFeed(mask, [n, d.width]);
      }
    }
    return feeds;
  }

  private check(s: StepInputs): void {
    if (!Number.isInteger(s.batchSize) || s.batchSize < 1)
      throw new Error("batchSize must be a positive integer");
    if (s.x.length !== s.batchSize * this.spec.inputWidth) {
      throw new Error(`x has ${s.x.length} values, expected ${s.batchSize}×${this.spec.inputWidth}`);
    }
    const want = s.target instanceof Int32Array ? s.batchSize : s.batchSize * this.layout.outputWidth;
    if (s.target.length !== want) throw new Error(`target has ${s.target.length} values, expected ${want}`);
    if (s.target instanceof Int32Array) {
      const classes = this.layout.outputWidth;
      for (let row = 0; row < s.target.length; row++) {
        const label = s.target[row] as number;
        if (label < 0 || label >= classes)
          throw new Error(`target: row ${row} has label ${label}, expected a class in [0, ${classes - 1}]`);
      }
    }
  }

  /** Runs one training step: loss, logits and the gradient of every trainable parameter in the graph. */
  async trainStep(s: StepInputs): Promise<StepResult> {
    this.check(s);
    const [c, out] = await this.withSession(
      "train",
      async (c) => [c, await c.session.run(this.feeds(c, s, "train"))] as const,
    );
    const grads = new Map<string, Float32Array>();
    for (const p of c.graph.gradParams) grads.set(p, floatResult(out, gradOutputName(p)));
    const interfaces = new Map<string, InterfaceGradients>();
    for (const { slotId, host, shared } of c.graph.interfaces) {
      const seed = floatResult(out, seedInterfaceOutputName(slotId));
      const parts = new Map(shared.map((p) => [p, floatResult(out, contributionOutputName(slotId, p))]));
      interfaces.set(
        slotId,
        host
          ? { host: floatResult(out, hostInterfaceOutputName(slotId)), seed, shared: parts }
          : { seed, shared: parts },
      );
    }
    return { loss: lossOf(out), logits: floatResult(out, "logits"), grads, interfaces };
  }

  /** Runs the evaluation graph (no gradients, dropout off). */
  async evaluate(s: StepInputs): Promise<EvalResult> {
    this.check(s);
    const out = await this.withSession("eval", (c) => c.session.run(this.feeds(c, s, "eval")));
    return { loss: lossOf(out), logits: floatResult(out, "logits") };
  }

  /** Releases every cached session (after their runs in flight). */
  async release(): Promise<void> {
    await Promise.all([...this.sessions].map(([key, entry]) => this.evict(key, entry)));
  }
}

/** Releases a session once created; one that failed to create (an error its caller got) has nothing to release. */
async function releaseCreated(ready: Promise<CachedSession>): Promise<void> {
  let c: CachedSession;
  try {
    c = await ready;
  } catch {
    return;
  }
  await c.session.release();
}
