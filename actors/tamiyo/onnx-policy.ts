import type * as ort from "onnxruntime-node";
import { BlendMode, type BlendScheduleSpec, SeedLifecycleStage } from "../../contracts/index.ts";
import { createSession, floatFeed, floatResult } from "../../nn/model/session.ts";
import { buildFeatures, FEATURE_WIDTH, type PolicyFeatures } from "./features.ts";
import type { PlateauRule } from "./plateau.ts";
import type {
  NoopReason,
  Policy,
  PolicyAction,
  PolicyBlendMode,
  PolicyIdentity,
  PolicyScores,
} from "./policy.ts";
import {
  ACTION_KINDS,
  BLEND_MODES,
  CLASS_HEAD_NAMES,
  CLASS_HEADS,
  type ClassHead,
  FEATURES_INPUT,
  logitsOutput,
  NOOP_REASONS,
  RISK_OUTPUT,
  VALUE_OUTPUT,
} from "./policy-model.ts";

/** Inference did not finish within its deadline. */
export class InferenceTimeoutError extends Error {
  override readonly name = "InferenceTimeoutError";
  constructor(
    readonly policyVersion: string,
    readonly deadlineMs: number,
  ) {
    super(`policy ${policyVersion}: inference did not finish within its ${deadlineMs} ms deadline`);
  }
}

/** Inference failed (the runtime threw or returned malformed outputs). */
export class InferenceFailedError extends Error {
  override readonly name = "InferenceFailedError";
  constructor(
    readonly policyVersion: string,
    readonly reason: string,
  ) {
    super(`policy ${policyVersion}: inference failed: ${reason}`);
  }
}

/** The policy chose an action kind Tamiyo cannot command. */
export class UnsupportedActionError extends Error {
  override readonly name = "UnsupportedActionError";
  constructor(readonly kind: string) {
    super(`policy chose action '${kind}', which Tamiyo cannot command: the evaluation is refused`);
  }
}

/** A loaded policy model: its ORT session and identity (version, sha256 of the model bytes). */
export interface PolicyModel {
  readonly identity: PolicyIdentity;
  readonly session: ort.InferenceSession;
}

/** The raw outputs of one inference. */
export interface PolicyOutputs {
  readonly logits: Readonly<Record<ClassHead, Float32Array>>;
  readonly value: number;
  readonly risk: number;
}

/**
 * Creates the ORT session of a policy model and checks its interface: input `features`
 * [N, FEATURE_WIDTH], the head outputs, and one probe inference of the right widths. Throws naming
 * what does not match.
 */
export async function loadPolicyModel(bytes: Uint8Array, identity: PolicyIdentity): Promise<PolicyModel> {
  const session = await createSession(bytes, { intraOpNumThreads: 1 });
  const wanted = [...CLASS_HEAD_NAMES.map(logitsOutput), VALUE_OUTPUT, RISK_OUTPUT];
  const missing = wanted.filter((o) => !session.outputNames.includes(o));
  if (!session.inputNames.includes(FEATURES_INPUT) || missing.length > 0) {
    await session.release();
    throw new Error(
      `policy model ${identity.version}: expected input '${FEATURES_INPUT}' and outputs ${wanted.join(", ")}; ` +
        `has inputs ${session.inputNames.join(", ")}, missing outputs ${missing.join(", ") || "none"}`,
    );
  }
  const model = { identity, session };
  try {
    await infer(model, new Float32Array(FEATURE_WIDTH));
  } catch (err) {
    await session.release();
    throw new Error(
      `policy model ${identity.version}: probe inference failed: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return model;
}

/** Runs the model on one feature vector; throws when an output is missing or of the wrong width. */
export async function infer(model: PolicyModel, vector: Float32Array): Promise<PolicyOutputs> {
  const results = await model.session.run({ [FEATURES_INPUT]: floatFeed(vector, [1, FEATURE_WIDTH]) });
  const logits = {} as Record<ClassHead, Float32Array>;
  for (const h of CLASS_HEAD_NAMES) {
    const out = floatResult(results, logitsOutput(h));
    if (out.length !== CLASS_HEADS[h])
      throw new Error(
        `policy output ${logitsOutput(h)} has ${out.length} values, expected ${CLASS_HEADS[h]}`,
      );
    logits[h] = out;
  }
  const value = floatResult(results, VALUE_OUTPUT)[0];
  const risk = floatResult(results, RISK_OUTPUT)[0];
  if (value === undefined || risk === undefined)
    throw new Error("policy outputs value and risk must hold one value each");
  return { logits, value, risk };
}

/** What the ONNX policy decides with besides the model. */
export interface OnnxPolicyOptions {
  /** The plateau rule whose status the features encode (the model was fitted under it). */
  readonly plateau: PlateauRule;
  /** The ramp of a germinated seed's α (from the worker settings). */
  readonly schedule: BlendScheduleSpec;
  /** Inference budget in ms: a slower inference fails the decision with InferenceTimeoutError (see inferWithDeadline). */
  readonly deadlineMs: number;
  /** Monotonic milliseconds, for the inference time. */
  readonly now: () => number;
}

/**
 * The learned policy: features → model inference (within the deadline) → decoded action. Decoding
 * takes the most likely action kind; a germination takes the most likely DORMANT slot and, among the
 * candidates free of quarantine, approved when required, and fitting that slot's width, the most
 * likely blueprint. A germination with no legal slot or blueprint is a no-op `no_free_slot` or
 * `no_fitting_blueprint`; a no-op's reason is the reason head's. Kinds Tamiyo cannot command (cull,
 * optimizer adjustment, pause) throw UnsupportedActionError: never a command it did not decide.
 */
export function createOnnxPolicy(model: PolicyModel, options: OnnxPolicyOptions): Policy {
  return {
    identity: model.identity,
    async decide(input) {
      const features = buildFeatures(input, options.plateau);
      const { outputs, inferenceMs } = await inferWithDeadline(model, features.vector, options);
      return decodeAction(features, outputs, options, inferenceMs);
    },
  };
}

/**
 * Runs one inference against its deadline. onnxruntime-node runs a session on the main thread from a
 * `setImmediate` callback; the clock and the deadline timer start in the immediate queued just before
 * it, so the deadline covers the inference itself and not the time other work held the event loop
 * before it began (that shows in `tamiyo.decision.latency_ms`). Slower than the deadline, whether the
 * timer fired first or the result arrived late: InferenceTimeoutError. A runtime error:
 * InferenceFailedError.
 */
async function inferWithDeadline(
  model: PolicyModel,
  vector: Float32Array,
  options: Pick<OnnxPolicyOptions, "deadlineMs" | "now">,
): Promise<{ outputs: PolicyOutputs; inferenceMs: number }> {
  const version = model.identity.version;
  const { deadlineMs, now } = options;
  let started: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let settled = false;
  const timeout = new Promise<never>((_, reject) => {
    setImmediate(() => {
      if (settled) return;
      started = now();
      timer = setTimeout(() => reject(new InferenceTimeoutError(version, deadlineMs)), deadlineMs);
    });
  });
  const inference = infer(model, vector).catch((err: unknown) => {
    throw new InferenceFailedError(version, err instanceof Error ? err.message : String(err));
  });
  try {
    const outputs = await Promise.race([inference, timeout]);
    if (started === undefined) throw new InferenceFailedError(version, "the inference ended before it began");
    const inferenceMs = now() - started;
    if (inferenceMs > deadlineMs) throw new InferenceTimeoutError(version, deadlineMs);
    return { outputs, inferenceMs };
  } finally {
    settled = true;
    clearTimeout(timer);
  }
}

/** Index of the largest value among those `legal` allows; -1 when none is legal. */
function argmax(values: ArrayLike<number>, legal: (i: number) => boolean = () => true): number {
  let best = -1;
  for (let i = 0; i < values.length; i++) {
    if (!legal(i)) continue;
    if (best < 0 || (values[i] as number) > (values[best] as number)) best = i;
  }
  return best;
}

/** Softmax probability of class `i`. */
function probability(values: ArrayLike<number>, i: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < values.length; j++) max = Math.max(max, values[j] as number);
  let sum = 0;
  for (let j = 0; j < values.length; j++) sum += Math.exp((values[j] as number) - max);
  return Math.exp((values[i] as number) - max) / sum;
}

/** Turns model outputs into an action (see createOnnxPolicy). */
export function decodeAction(
  features: PolicyFeatures,
  outputs: PolicyOutputs,
  options: Pick<OnnxPolicyOptions, "plateau" | "schedule">,
  inferenceMs: number,
): PolicyAction {
  const { logits } = outputs;
  const scores: PolicyScores = {
    logits: Object.fromEntries(CLASS_HEAD_NAMES.map((h) => [h, Array.from(logits[h])])),
    valueEstimate: outputs.value,
    riskEstimate: outputs.risk,
    featureCoverage: features.coverage.ratio,
    inferenceMs,
  };
  const kindIndex = argmax(logits.kind);
  const kind = ACTION_KINDS[kindIndex];
  const pKind = probability(logits.kind, kindIndex).toFixed(3);
  const { plateau } = features;
  const k = options.plateau.epochs;
  const eps = options.plateau.minRelativeImprovement;
  const plateauText = `${plateau.epochsWithoutImprovement} of ${k} epochs without relative improvement > ${eps}`;
  if (kind === "noop") {
    const reason = NOOP_REASONS[argmax(logits.reason)] as NoopReason;
    return { kind: "noop", reason, detail: `${plateauText}; p(no-op) ${pKind}`, scores };
  }
  if (kind !== "germinate") throw new UnsupportedActionError(String(kind));
  const slotIndex = argmax(logits.slot, (i) => features.slots[i]?.stage === SeedLifecycleStage.DORMANT);
  const seed = features.slots[slotIndex];
  if (seed === undefined) {
    return {
      kind: "noop",
      reason: "no_free_slot",
      detail: `policy chose germinate (p ${pKind}) but none of ${features.slots.length} seed(s) is DORMANT`,
      scores,
    };
  }
  const blueprintIndex = argmax(
    logits.blueprint,
    (j) => features.usable[j] === true && features.candidates[j]?.inputWidth === seed.slotWidth,
  );
  const blueprint = features.candidates[blueprintIndex];
  if (blueprint === undefined) {
    return {
      kind: "noop",
      reason: "no_fitting_blueprint",
      detail:
        `policy chose germinate (p ${pKind}) on seed ${seed.seedId} but no catalog blueprint of width ` +
        `${seed.slotWidth} is free of quarantine and approved (or free of approval)`,
      scores,
    };
  }
  const modeName = BLEND_MODES[argmax(logits.blend)];
  if (modeName === undefined) throw new Error("policy output logits/blend is empty");
  const mode: PolicyBlendMode = BlendMode[modeName];
  return {
    kind: "germinate",
    seedId: seed.seedId,
    slotId: seed.slotId,
    slotWidth: seed.slotWidth,
    blueprintId: blueprint.blueprintId,
    blend: { mode, schedule: options.schedule },
    rationale:
      `policy: germinate p ${pKind}; ${plateauText} (best ${plateau.best}); slot ${seed.slotId} of seed ` +
      `${seed.seedId} p ${probability(logits.slot, slotIndex).toFixed(3)}; blueprint ${blueprint.blueprintId} ` +
      `p ${probability(logits.blueprint, blueprintIndex).toFixed(3)} (risk ${blueprint.risk})`,
    scores,
  };
}
