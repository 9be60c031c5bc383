import type * as ort from "onnxruntime-node";
import {
  BlendMode,
  type BlueprintDescriptor,
  SeedLifecycleStage,
  type SeedState,
  type SystemStatePacket,
  type TrainingMetrics,
} from "../../contracts/index.ts";
import { gradients } from "../../nn/autodiff/backward.ts";
import type { Tensor } from "../../nn/graph/graph.ts";
import { toOnnxBytes } from "../../nn/graph/to-onnx.ts";
import { createSession, floatFeed, floatResult } from "../../nn/model/session.ts";
import { AdamW } from "../../nn/optim/adamw.ts";
import { ParameterStore } from "../../nn/params/store.ts";
import { createRng, type Rng } from "../../nn/rng.ts";
import { buildFeatures, FEATURE_VERSION, FEATURE_WIDTH } from "./features.ts";
import { createOnnxPolicy, loadPolicyModel } from "./onnx-policy.ts";
import type { PolicyAction, PolicyInput } from "./policy.ts";
import { type PolicyManifest, sha256Of, type VerifiedPolicy } from "./policy-manifest.ts";
import {
  ACTION_KINDS,
  addPolicyParams,
  BLEND_MODES,
  buildPolicyForward,
  CLASS_HEAD_NAMES,
  CLASS_HEADS,
  type ClassHead,
  exportPolicyModel,
  FEATURES_INPUT,
  NOOP_REASONS,
  weightedCrossEntropy,
} from "./policy-model.ts";
import { createRulePolicy } from "./rule-policy.ts";
import type { RuleSet } from "./rule-set.ts";
import { emptyRunMemory, observePacket, type RunMemory, recordGermination } from "./run-memory.ts";

/** Version name of the fitted policy (its sha256 is the identity's digest). */
export const POLICY_VERSION = "tamiyo-mlp-v1";

/** The evaluate requests of one recorded run, in the order Tamiyo received them. */
export interface RecordedRun {
  readonly trainingRunId: string;
  readonly packets: readonly SystemStatePacket[];
}

/** What a fit reads. */
export interface FitInput {
  readonly runs: readonly RecordedRun[];
  /** The recordings the runs came from (file name and sha256), written into the manifest. */
  readonly recordings: readonly { readonly file: string; readonly sha256: string }[];
  /** The blueprint catalog the recorded Tamiyo saw (Urza's library). */
  readonly catalog: readonly BlueprintDescriptor[];
  /** Blueprint ids a run's job approves, by experiment name. */
  readonly approvals: (experimentName: string) => ReadonlySet<string>;
  /** The teacher's rule set. */
  readonly rules: RuleSet;
  readonly seed: number;
  /** Augmented states to train on and to hold out (defaults: FIT_SIZES). */
  readonly sizes?: FitSizes;
}

/** Numbers of states and optimisation steps of a fit. */
export interface FitSizes {
  readonly augmented: number;
  readonly heldOut: number;
  readonly epochs: number;
  readonly batch: number;
}

/** The sizes of the shipped policy's fit. */
export const FIT_SIZES: FitSizes = { augmented: 6_000, heldOut: 2_000, epochs: 40, batch: 128 };

/** Learning rate of AdamW during the fit. */
const LEARNING_RATE = 3e-3;

/** Bias added to the logits of illegal slots and blueprints in the training loss. */
const MASKED = -1e4;

/** Epochs after a recorded state whose loss change is the value head's target. */
const VALUE_HORIZON_EPOCHS = 5;

/** One labelled decision: the teacher's input and action, and the value target where known. */
interface Sample {
  readonly input: PolicyInput;
  readonly action: PolicyAction;
  /** Relative validation-loss decrease over the next epochs (recorded states only). */
  readonly value: number | undefined;
}

/**
 * Fits the policy: replays the teacher (the rule policy, with its run memory) over the recorded
 * states, augments them (loss histories around the plateau boundary, slots and stages, catalog
 * subsets and approvals; each labelled by the teacher), fits the MLP with nn/ (AdamW, seeded,
 * one-threaded ORT: the same inputs give the same bytes), exports ONNX and measures agreement with
 * the teacher on held-out augmented states and on the recording, through the same decoding Tamiyo uses.
 */
export async function fitPolicy(input: FitInput): Promise<VerifiedPolicy> {
  const sizes = input.sizes ?? FIT_SIZES;
  const teacher = createRulePolicy(input.rules);
  const rng = createRng(input.seed);
  const recorded = replayTeacher(input, teacher.decide);
  const augmented = augment(recorded, input, sizes.augmented, rng.fork("train"), teacher.decide);
  const heldOut = augment(recorded, input, sizes.heldOut, rng.fork("held-out"), teacher.decide);
  const training = [...recorded, ...augmented];
  const { store, steps, finalLoss } = await train(training, input, sizes, rng.fork("fit"));
  const bytes = exportPolicyModel(store, {
    featureVersion: FEATURE_VERSION,
    policyVersion: POLICY_VERSION,
  });
  const sha256 = sha256Of(bytes);
  const model = await loadPolicyModel(bytes, { version: POLICY_VERSION, digest: sha256 });
  const student = createOnnxPolicy(model, {
    plateau: input.rules.plateau,
    schedule: input.rules.blend.schedule,
    deadlineMs: 10_000,
    now: () => 0,
  });
  const agreement = {
    heldOut: await agreementOf(heldOut, student.decide),
    recording: await agreementOf(recorded, student.decide),
  };
  await model.session.release();
  const manifest: PolicyManifest = {
    version: POLICY_VERSION,
    sha256,
    featureVersion: FEATURE_VERSION,
    seed: input.seed,
    recordings: input.recordings.map((r) => ({ file: r.file, sha256: r.sha256 })),
    teacher: { ...teacher.identity },
    training: {
      recordedStates: recorded.length,
      augmentedStates: augmented.length,
      heldOutStates: heldOut.length,
      steps,
      finalLoss,
    },
    agreement,
  };
  return { manifest, bytes };
}

type Decide = (input: PolicyInput) => PolicyAction;

/** The teacher over every recorded run in order, with its run memory (a germination restarts the plateau window). */
function replayTeacher(input: FitInput, decide: Decide): Sample[] {
  const out: Sample[] = [];
  for (const run of input.runs) {
    let memory: RunMemory = emptyRunMemory(run.trainingRunId);
    const start = out.length;
    for (const packet of run.packets) {
      memory = observePacket(memory, packet);
      const state: PolicyInput = {
        packet,
        catalog: input.catalog,
        approved: input.approvals(packet.experimentName),
        memory,
      };
      const action = decide(state);
      out.push({ input: state, action, value: undefined });
      if (action.kind === "germinate") {
        memory = recordGermination(memory, {
          epoch: packet.currentEpoch,
          seedId: action.seedId,
          blueprintId: action.blueprintId,
        });
      }
    }
    const packets = run.packets;
    for (let i = start; i < out.length; i++) {
      const now = packets[i - start];
      const later = packets[i - start + VALUE_HORIZON_EPOCHS];
      const sample = out[i];
      if (now === undefined || sample === undefined) continue;
      out[i] = {
        ...sample,
        value:
          later === undefined
            ? undefined
            : Math.max(
                -1,
                Math.min(1, (now.validationLoss - later.validationLoss) / Math.abs(now.validationLoss)),
              ),
      };
    }
  }
  return out;
}

const IN_FLIGHT_STAGES = [
  SeedLifecycleStage.GERMINATED,
  SeedLifecycleStage.TRAINING,
  SeedLifecycleStage.BLENDING,
  SeedLifecycleStage.SHADOWING,
  SeedLifecycleStage.PROBATIONARY,
] as const;
const ENDED_STAGES = [
  SeedLifecycleStage.CULLED,
  SeedLifecycleStage.EMBARGOED,
  SeedLifecycleStage.RESETTING,
  SeedLifecycleStage.TERMINATED,
] as const;
const WIDTHS = [4, 16, 32, 64, 128, 256] as const;

function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[rng.int(items.length)];
  if (item === undefined) throw new Error("pick from no items");
  return item;
}

/**
 * States around the recorded ones, each labelled by the teacher: a fresh validation-loss history
 * (1–10 epochs, improving by more or less than ε per epoch, so plateau and no-plateau both occur),
 * with or without a prior germination; the recorded seeds or 0–4 random slots (widths, depths,
 * stages DORMANT, in flight, FOSSILIZED or ended); the recorded catalog or a subset with flipped
 * quarantine and approval flags; the job's approvals or none.
 */
function augment(base: readonly Sample[], input: FitInput, n: number, rng: Rng, decide: Decide): Sample[] {
  const out: Sample[] = [];
  const eps = input.rules.plateau.minRelativeImprovement;
  for (let i = 0; i < n; i++) {
    const from = pick(rng, base).input;
    const length = 1 + rng.int(10);
    const improveP = pick(rng, [0.05, 0.2, 0.5, 0.9]);
    const firstEpoch = rng.int(100);
    let loss = from.packet.validationLoss * (0.5 + rng.next());
    const losses = [];
    for (let e = 0; e < length; e++) {
      if (e > 0) {
        loss =
          rng.next() < improveP
            ? loss * (1 - eps * (1.2 + 4 * rng.next()))
            : loss * (1 + eps * (1.6 * rng.next() - 0.8) + (rng.next() < 0.2 ? 0.05 * rng.next() : 0));
      }
      losses.push({ epoch: firstEpoch + e, loss });
    }
    const seeds = rng.next() < 0.4 ? [...from.packet.seedStates] : randomSeeds(rng);
    const germinated = rng.next() < 0.4;
    const memory: RunMemory = {
      ...emptyRunMemory(from.packet.trainingRunId),
      losses,
      lastGermination: germinated
        ? {
            epoch: firstEpoch,
            seedId: "earlier-seed",
            blueprintId: pick(rng, input.catalog).blueprintId,
          }
        : undefined,
    };
    const last = losses.at(-1);
    if (last === undefined) throw new Error("augment: empty loss history");
    const packet: SystemStatePacket = {
      ...from.packet,
      packetId: `aug-${i}`,
      currentEpoch: last.epoch,
      validationLoss: last.loss,
      validationAccuracy: rng.next(),
      trainingLoss: last.loss * (0.5 + rng.next()),
      trainingMetrics: randomMetrics(rng, from.packet.trainingMetrics, last.loss),
      seedStates: seeds,
    };
    const catalog = rng.next() < 0.3 ? input.catalog : randomCatalog(rng, input.catalog);
    const approved = rng.next() < 0.8 ? input.approvals(packet.experimentName) : new Set<string>();
    const state: PolicyInput = { packet, catalog, approved, memory };
    out.push({ input: state, action: decide(state), value: undefined });
  }
  return out;
}

/** Training metrics spread over wide ranges: the teacher ignores them, so the policy must learn to. */
function randomMetrics(rng: Rng, base: TrainingMetrics, loss: number): TrainingMetrics {
  const wide = (scale: number): number => scale * rng.next() ** 2;
  return {
    ...base,
    loss: loss * (0.5 + rng.next()),
    accuracy: rng.next(),
    gradientNorm: wide(20),
    learningRate: wide(1),
    lossDelta: wide(2) - 1,
    lossEwma: loss * (0.5 + rng.next()),
    lossVolatility: wide(2),
    gradNormEwma: wide(20),
    gradConflictRate: rng.next(),
    epochsTotal: rng.next() < 0.1 ? 0 : 1 + rng.int(500),
  };
}

function randomSeeds(rng: Rng): SeedState[] {
  const n = rng.int(5);
  const seeds: SeedState[] = [];
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    const stage =
      r < 0.6
        ? SeedLifecycleStage.DORMANT
        : r < 0.72
          ? pick(rng, IN_FLIGHT_STAGES)
          : r < 0.92
            ? SeedLifecycleStage.FOSSILIZED
            : pick(rng, ENDED_STAGES);
    const depth = rng.int(4);
    const seedId = `s${depth}-g${i}`;
    seeds.push({
      seedId,
      slotId: `slot-${i}`,
      slotWidth: pick(rng, WIDTHS),
      stage,
      gradientNorm: rng.next(),
      learningRate: 0.02,
      layerDepth: depth,
      alpha: stage === SeedLifecycleStage.DORMANT ? 0 : rng.next(),
      ageEpochs: rng.int(50),
      riskScore: rng.next() * 0.5,
      metrics: {},
    });
  }
  return seeds;
}

function randomCatalog(rng: Rng, catalog: readonly BlueprintDescriptor[]): BlueprintDescriptor[] {
  const keep = pick(rng, [0.3, 0.7, 1]);
  return catalog
    .filter(() => rng.next() < keep)
    .map((b) => ({
      ...b,
      quarantineOnly: rng.next() < 0.1 ? !b.quarantineOnly : b.quarantineOnly,
      approvalRequired: rng.next() < 0.1 ? !b.approvalRequired : b.approvalRequired,
    }));
}

/** The dataset tensors of the training graph, row-major, one row per sample. */
interface Dataset {
  readonly n: number;
  readonly features: Float32Array;
  readonly targets: Readonly<Record<ClassHead, Float32Array>>;
  readonly biases: Readonly<Record<"slot" | "blueprint", Float32Array>>;
  readonly value: Float32Array;
  readonly valueWeight: Float32Array;
  readonly risk: Float32Array;
}

function dataset(samples: readonly Sample[], input: FitInput): Dataset {
  const n = samples.length;
  const features = new Float32Array(n * FEATURE_WIDTH);
  const targets = Object.fromEntries(
    CLASS_HEAD_NAMES.map((h) => [h, new Float32Array(n * CLASS_HEADS[h])]),
  ) as Record<ClassHead, Float32Array>;
  const biases = {
    slot: new Float32Array(n * CLASS_HEADS.slot),
    blueprint: new Float32Array(n * CLASS_HEADS.blueprint),
  };
  const value = new Float32Array(n);
  const valueWeight = new Float32Array(n);
  const risk = new Float32Array(n);
  samples.forEach((s, row) => {
    const f = buildFeatures(s.input, input.rules.plateau);
    features.set(f.vector, row * FEATURE_WIDTH);
    const hot = (head: ClassHead, index: number): void => {
      if (index < 0 || index >= CLASS_HEADS[head])
        throw new Error(`fit: ${head} label ${index} out of range`);
      (targets[head] as Float32Array)[row * CLASS_HEADS[head] + index] = 1;
    };
    const slotWidth = CLASS_HEADS.slot;
    for (let i = 0; i < slotWidth; i++) {
      if (f.slots[i]?.stage !== SeedLifecycleStage.DORMANT) biases.slot[row * slotWidth + i] = MASKED;
    }
    const a = s.action;
    hot("kind", ACTION_KINDS.indexOf(a.kind));
    if (a.kind === "noop") {
      hot("reason", NOOP_REASONS.indexOf(a.reason));
    } else {
      const slot = f.slots.findIndex((x) => x.seedId === a.seedId);
      const blueprint = f.candidates.findIndex((b) => b.blueprintId === a.blueprintId);
      hot("slot", slot);
      hot("blueprint", blueprint);
      hot(
        "blend",
        BLEND_MODES.findIndex((m) => BlendMode[m] === a.blend.mode),
      );
      const width = f.slots[slot]?.slotWidth;
      const bpWidth = CLASS_HEADS.blueprint;
      for (let j = 0; j < bpWidth; j++) {
        const legal = f.usable[j] === true && f.candidates[j]?.inputWidth === width;
        if (!legal) biases.blueprint[row * bpWidth + j] = MASKED;
      }
      const chosen = f.candidates[blueprint];
      if (chosen === undefined) throw new Error(`fit: blueprint ${a.blueprintId} is not a candidate`);
      risk[row] = chosen.risk;
    }
    if (s.value !== undefined) {
      value[row] = s.value;
      valueWeight[row] = 1;
    }
  });
  return { n, features, targets, biases, value, valueWeight, risk };
}

/** The training-step graph: loss and the gradient of every parameter. */
function trainingGraph(): { bytes: Uint8Array; params: readonly string[] } {
  const f = buildPolicyForward();
  const g = f.graph;
  let loss: Tensor | undefined;
  const addLoss = (t: Tensor): void => {
    loss = loss === undefined ? t : g.add(loss, t);
  };
  for (const h of CLASS_HEAD_NAMES) {
    const target = g.input(`target/${h}`, ["N", CLASS_HEADS[h]]);
    const bias =
      h === "slot" || h === "blueprint" ? g.input(`bias/${h}`, ["N", CLASS_HEADS[h]]) : g.scalar(0);
    addLoss(weightedCrossEntropy(g, f.logits[h], bias, target));
  }
  const valueTarget = g.input("target/value", ["N", 1]);
  const valueWeight = g.input("weight/value", ["N", 1]);
  const dv = g.sub(f.value, valueTarget);
  addLoss(g.reduceMean(g.mul(valueWeight, g.mul(dv, dv)), [0, 1], false));
  const riskTarget = g.input("target/risk", ["N", 1]);
  addLoss(g.meanSquaredError(g.sigmoid(f.riskLogit), riskTarget));
  if (loss === undefined) throw new Error("fit: no loss terms");
  const wrt = [...f.params.values()];
  const grads = gradients(g, loss, wrt);
  const outputs = new Map<string, Tensor>([["loss", loss]]);
  for (const [name, t] of grads) outputs.set(`grad/${name}`, t);
  return { bytes: toOnnxBytes(g, outputs, { name: "tamiyo_policy_fit" }), params: [...f.params.keys()] };
}

async function train(
  samples: readonly Sample[],
  input: FitInput,
  sizes: FitSizes,
  rng: Rng,
): Promise<{ store: ParameterStore; steps: number; finalLoss: number }> {
  const data = dataset(samples, input);
  const store = new ParameterStore(rng.fork("init"));
  addPolicyParams(store);
  const graph = trainingGraph();
  const optimizer = new AdamW(store, { lr: LEARNING_RATE, weightDecay: 1e-4 });
  optimizer.addGroup("policy", graph.params);
  const session = await createSession(graph.bytes, { intraOpNumThreads: 1 });
  const order = new Int32Array(data.n).map((_, i) => i);
  const shuffle = rng.fork("batches");
  let steps = 0;
  let finalLoss = Number.NaN;
  try {
    for (let epoch = 0; epoch < sizes.epochs; epoch++) {
      shuffle.shuffleTyped(order);
      let sum = 0;
      let batches = 0;
      for (let start = 0; start + sizes.batch <= data.n; start += sizes.batch) {
        const rows = order.subarray(start, start + sizes.batch);
        const feeds = batchFeeds(data, rows);
        for (const p of graph.params) feeds[p] = floatFeed(store.get(p), store.shape(p));
        const result = await session.run(feeds);
        const grads = new Map<string, Float32Array>();
        for (const p of graph.params) grads.set(p, floatResult(result, `grad/${p}`));
        optimizer.step(grads);
        sum += floatResult(result, "loss")[0] ?? Number.NaN;
        batches++;
        steps++;
      }
      finalLoss = sum / batches;
      if (!Number.isFinite(finalLoss)) throw new Error(`fit: loss is ${finalLoss} at epoch ${epoch}`);
    }
  } finally {
    await session.release();
  }
  return { store, steps, finalLoss };
}

function batchFeeds(data: Dataset, rows: Int32Array): Record<string, ort.Tensor> {
  const b = rows.length;
  const gather = (src: Float32Array, width: number): Float32Array => {
    const out = new Float32Array(b * width);
    rows.forEach((r, i) => {
      out.set(src.subarray(r * width, (r + 1) * width), i * width);
    });
    return out;
  };
  const feeds: Record<string, ort.Tensor> = {
    [FEATURES_INPUT]: floatFeed(gather(data.features, FEATURE_WIDTH), [b, FEATURE_WIDTH]),
    "target/value": floatFeed(gather(data.value, 1), [b, 1]),
    "weight/value": floatFeed(gather(data.valueWeight, 1), [b, 1]),
    "target/risk": floatFeed(gather(data.risk, 1), [b, 1]),
  };
  for (const h of CLASS_HEAD_NAMES) {
    feeds[`target/${h}`] = floatFeed(gather(data.targets[h], CLASS_HEADS[h]), [b, CLASS_HEADS[h]]);
  }
  feeds["bias/slot"] = floatFeed(gather(data.biases.slot, CLASS_HEADS.slot), [b, CLASS_HEADS.slot]);
  feeds["bias/blueprint"] = floatFeed(gather(data.biases.blueprint, CLASS_HEADS.blueprint), [
    b,
    CLASS_HEADS.blueprint,
  ]);
  return feeds;
}

/** Same decision: kind, and for a germination the seed, blueprint and blend mode. */
export function sameDecision(a: PolicyAction, b: PolicyAction): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === "germinate" && b.kind === "germinate") {
    return a.seedId === b.seedId && a.blueprintId === b.blueprintId && a.blend.mode === b.blend.mode;
  }
  return true;
}

async function agreementOf(
  samples: readonly Sample[],
  decide: (input: PolicyInput) => PolicyAction | Promise<PolicyAction>,
): Promise<PolicyManifest["agreement"]["heldOut"]> {
  const byKind: Record<string, { decisions: number; agreed: number; agreement: number }> = {};
  let agreed = 0;
  let reasons = 0;
  for (const s of samples) {
    const student = await decide(s.input);
    const same = sameDecision(s.action, student);
    const k = byKind[s.action.kind] ?? { decisions: 0, agreed: 0, agreement: 0 };
    byKind[s.action.kind] = k;
    k.decisions++;
    if (same) {
      k.agreed++;
      agreed++;
    }
    if (s.action.kind === "noop" && student.kind === "noop" && s.action.reason === student.reason) reasons++;
  }
  for (const k of Object.values(byKind)) k.agreement = k.decisions > 0 ? k.agreed / k.decisions : 0;
  return {
    decisions: samples.length,
    agreed,
    agreement: samples.length > 0 ? agreed / samples.length : 0,
    byKind,
    noopReasonsAgreed: reasons,
  };
}
