import { attr, Graph, type Tensor } from "../../nn/graph/graph.ts";
import { toOnnxBytes } from "../../nn/graph/to-onnx.ts";
import type { ParameterStore } from "../../nn/params/store.ts";
import { FEATURE_WIDTH, MAX_CANDIDATES, MAX_SLOTS } from "./features.ts";

/** Action kinds of the kind head, in logit order. */
export const ACTION_KINDS = ["noop", "germinate", "cull", "optimizerAdjustment", "pause"] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

/** No-op reasons of the reason head, in logit order. */
export const NOOP_REASONS = ["no_plateau", "seed_in_flight", "no_free_slot", "no_fitting_blueprint"] as const;

/** Blend modes of the blend head, in logit order (CONFIDENCE needs a gate the model does not produce). */
export const BLEND_MODES = ["RESIDUAL", "CONVEX"] as const;

/** The classification heads and their widths: each is an output `logits/<head>` [N, width]. */
export const CLASS_HEADS = {
  kind: ACTION_KINDS.length,
  slot: MAX_SLOTS,
  blueprint: MAX_CANDIDATES,
  blend: BLEND_MODES.length,
  reason: NOOP_REASONS.length,
} as const;
export type ClassHead = keyof typeof CLASS_HEADS;

/** Head names in output order. */
export const CLASS_HEAD_NAMES = Object.keys(CLASS_HEADS) as ClassHead[];

/** Width of the two hidden layers of the torso. */
export const HIDDEN_WIDTH = 64;

/** Name of the model's input [N, FEATURE_WIDTH]. */
export const FEATURES_INPUT = "features";

/** Output names: `logits/<head>` per class head, `value` [N, 1], `risk` [N, 1] (sigmoid, in [0, 1]). */
export const logitsOutput = (head: ClassHead): string => `logits/${head}`;
export const VALUE_OUTPUT = "value";
export const RISK_OUTPUT = "risk";

/** A linear layer: weight [out, in] (Gemm transB), bias [out]. */
interface Linear {
  readonly name: string;
  readonly inWidth: number;
  readonly outWidth: number;
}

/** Every linear layer of the model (torso, then heads). */
export const LAYERS: readonly Linear[] = [
  { name: "torso1", inWidth: FEATURE_WIDTH, outWidth: HIDDEN_WIDTH },
  { name: "torso2", inWidth: HIDDEN_WIDTH, outWidth: HIDDEN_WIDTH },
  ...CLASS_HEAD_NAMES.map((h) => ({ name: `head_${h}`, inWidth: HIDDEN_WIDTH, outWidth: CLASS_HEADS[h] })),
  { name: "head_value", inWidth: HIDDEN_WIDTH, outWidth: 1 },
  { name: "head_risk", inWidth: HIDDEN_WIDTH, outWidth: 1 },
];

/** Adds every parameter of the model to `store` (Kaiming-uniform weights, zero biases). */
export function addPolicyParams(store: ParameterStore): void {
  for (const l of LAYERS) {
    store.add(`${l.name}/weight`, [l.outWidth, l.inWidth], { kind: "kaimingUniform", a: Math.sqrt(5) });
    store.add(`${l.name}/bias`, [l.outWidth], { kind: "zeros" });
  }
}

/** The forward graph: its input, parameters (graph inputs named as in the store) and outputs. */
export interface PolicyForward {
  readonly graph: Graph;
  readonly features: Tensor;
  readonly params: ReadonlyMap<string, Tensor>;
  readonly logits: Readonly<Record<ClassHead, Tensor>>;
  /** The value head's output [N, 1]. */
  readonly value: Tensor;
  /** The risk head's pre-sigmoid output [N, 1]. */
  readonly riskLogit: Tensor;
}

/** Builds the MLP: features → tanh(torso1) → tanh(torso2) → one linear head each. */
export function buildPolicyForward(): PolicyForward {
  const g = new Graph();
  const features = g.input(FEATURES_INPUT, ["N", FEATURE_WIDTH]);
  const params = new Map<string, Tensor>();
  const linear = (x: Tensor, l: Linear): Tensor => {
    const w = g.input(`${l.name}/weight`, [l.outWidth, l.inWidth]);
    const b = g.input(`${l.name}/bias`, [l.outWidth]);
    params.set(w.name, w);
    params.set(b.name, b);
    return g.gemm(x, w, b, { transB: true });
  };
  const layer = (name: string): Linear => {
    const l = LAYERS.find((x) => x.name === name);
    if (l === undefined) throw new Error(`policy model: no layer '${name}'`);
    return l;
  };
  const h1 = g.tanh(linear(features, layer("torso1")));
  const h2 = g.tanh(linear(h1, layer("torso2")));
  const logits = Object.fromEntries(
    CLASS_HEAD_NAMES.map((h) => [h, linear(h2, layer(`head_${h}`))]),
  ) as Record<ClassHead, Tensor>;
  return {
    graph: g,
    features,
    params,
    logits,
    value: linear(h2, layer("head_value")),
    riskLogit: linear(h2, layer("head_risk")),
  };
}

/**
 * Mean over the batch of −Σ target·log softmax(logits + bias): `target` [N, C] holds one-hot labels
 * times a per-sample weight (a zero row contributes nothing), `bias` [N, C] is 0 for legal classes and
 * a large negative number for masked ones. The row maximum is subtracted without gradient, so exp
 * never overflows.
 */
export function weightedCrossEntropy(g: Graph, logits: Tensor, bias: Tensor, target: Tensor): Tensor {
  const z = g.add(logits, bias);
  const [n, c] = z.shape;
  if (n === undefined || c === undefined) throw new Error("weightedCrossEntropy: logits must be 2-D");
  const [max] = g.op("ReduceMax", [g.stopGradient(z)], { axes: attr.ints([1]), keepdims: attr.int(1) }, [
    { shape: [n, 1] },
  ]);
  if (max === undefined) throw new Error("weightedCrossEntropy: ReduceMax produced no output");
  const shifted = g.sub(z, g.stopGradient(max));
  const logSum = g.log(g.reduceSum(g.exp(shifted), [1], true));
  const logProb = g.sub(shifted, logSum);
  return g.neg(g.reduceMean(g.reduceSum(g.mul(target, logProb), [1], false), [0], false));
}

/**
 * Exports the policy for inference: input `features`, outputs `logits/<head>` per class head, `value`
 * and `risk` (sigmoid of the risk head), every parameter an initializer with its value in `store`.
 */
export function exportPolicyModel(
  store: ParameterStore,
  metadata: Readonly<Record<string, string>>,
): Uint8Array {
  const f = buildPolicyForward();
  const outputs = new Map<string, Tensor>();
  for (const h of CLASS_HEAD_NAMES) outputs.set(logitsOutput(h), f.logits[h]);
  outputs.set(VALUE_OUTPUT, f.value);
  outputs.set(RISK_OUTPUT, f.graph.sigmoid(f.riskLogit));
  const freeze = new Map<string, Float32Array>();
  for (const name of f.params.keys()) freeze.set(name, store.get(name));
  return toOnnxBytes(f.graph, outputs, { name: "tamiyo_policy", freeze, metadata });
}
