import { BlueprintTier } from "../../contracts/enums.ts";
import type { Graph, Tensor } from "../graph/graph.ts";
import type { Init } from "../params/init.ts";

/** A kernel parameter: name inside the kernel, shape and initialiser. */
export interface KernelParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: Init;
}

/**
 * A blueprint template. Its kernel maps x [N, inputWidth] to a *delta* k(x) [N, inputWidth] whose
 * output projection starts at zero, so every slot wiring (incubator, residual h + α·k(h), active
 * h + k(h)) is exactly the host at graft time. Weights are [out, in] (Gemm transB = 1).
 */
export interface BlueprintTemplate {
  readonly kind: string;
  readonly name: string;
  readonly tier: Exclude<BlueprintTier, typeof BlueprintTier.UNSPECIFIED>;
  /** Risk score in [0, 1] published in the catalog. */
  readonly risk: number;
  readonly description: string;
  /** Inclusive bounds of the template parameters (inputWidth, hiddenWidth). */
  readonly bounds: Readonly<
    Record<"inputWidth" | "hiddenWidth", { readonly minValue: number; readonly maxValue: number }>
  >;
  params(inputWidth: number, hiddenWidth: number): KernelParamSpec[];
  /** Emits k(x) given the parameter tensors by name. */
  build(g: Graph, x: Tensor, p: (name: string) => Tensor): Tensor;
}

const kaiming: Init = { kind: "kaimingUniform", a: Math.sqrt(5) };
const zeros: Init = { kind: "zeros" };
const linear = (g: Graph, x: Tensor, w: Tensor, b?: Tensor): Tensor => g.gemm(x, w, b, { transB: true });

/** Residual MLP adapter: k(x) = W2·gelu(W1·x + b1) + b2 (W2, b2 start at zero). */
const residualMlp: BlueprintTemplate = {
  kind: "residual-mlp",
  name: "Residual MLP adapter",
  tier: BlueprintTier.SAFE,
  risk: 0.1,
  description: "Two-layer GELU MLP added to the slot activation; zero-initialised output.",
  bounds: { inputWidth: { minValue: 1, maxValue: 4096 }, hiddenWidth: { minValue: 1, maxValue: 4096 } },
  params: (i, h) => [
    { name: "w1", shape: [h, i], init: kaiming },
    { name: "b1", shape: [h], init: zeros },
    { name: "w2", shape: [i, h], init: zeros },
    { name: "b2", shape: [i], init: zeros },
  ],
  build: (g, x, p) => linear(g, g.gelu(linear(g, x, p("w1"), p("b1"))), p("w2"), p("b2")),
};

/** Bottleneck adapter: k(x) = Wu·relu(Wd·x + bd) + bu, hidden no wider than the input (Wu, bu start at zero). */
const bottleneckAdapter: BlueprintTemplate = {
  kind: "bottleneck-adapter",
  name: "Bottleneck adapter",
  tier: BlueprintTier.SAFE,
  risk: 0.15,
  description: "Down-projection, ReLU, zero-initialised up-projection (hidden ≤ input).",
  bounds: { inputWidth: { minValue: 1, maxValue: 4096 }, hiddenWidth: { minValue: 1, maxValue: 4096 } },
  params: (i, h) => {
    if (h > i) throw new Error(`bottleneck-adapter: hiddenWidth ${h} must not exceed inputWidth ${i}`);
    return [
      { name: "wd", shape: [h, i], init: kaiming },
      { name: "bd", shape: [h], init: zeros },
      { name: "wu", shape: [i, h], init: zeros },
      { name: "bu", shape: [i], init: zeros },
    ];
  },
  build: (g, x, p) => linear(g, g.relu(linear(g, x, p("wd"), p("bd"))), p("wu"), p("bu")),
};

/** Low-rank linear: k(x) = U·(V·x), rank = hiddenWidth (U starts at zero). */
const lowRankLinear: BlueprintTemplate = {
  kind: "low-rank-linear",
  name: "Low-rank linear",
  tier: BlueprintTier.SAFE,
  risk: 0.05,
  description: "Rank-r linear correction U·V·x; zero-initialised U.",
  bounds: { inputWidth: { minValue: 1, maxValue: 4096 }, hiddenWidth: { minValue: 1, maxValue: 512 } },
  params: (i, h) => [
    { name: "v", shape: [h, i], init: kaiming },
    { name: "u", shape: [i, h], init: zeros },
  ],
  build: (g, x, p) => linear(g, linear(g, x, p("v")), p("u")),
};

/** Gated unit: k(x) = Wo·(sigmoid(Wg·x + bg) ⊙ tanh(Wv·x + bv)) (Wo starts at zero). */
const gatedUnit: BlueprintTemplate = {
  kind: "gated-unit",
  name: "Gated unit",
  tier: BlueprintTier.EXPERIMENTAL,
  risk: 0.3,
  description: "Sigmoid gate times tanh value, zero-initialised output projection.",
  bounds: { inputWidth: { minValue: 1, maxValue: 4096 }, hiddenWidth: { minValue: 1, maxValue: 4096 } },
  params: (i, h) => [
    { name: "wg", shape: [h, i], init: kaiming },
    { name: "bg", shape: [h], init: zeros },
    { name: "wv", shape: [h, i], init: kaiming },
    { name: "bv", shape: [h], init: zeros },
    { name: "wo", shape: [i, h], init: zeros },
  ],
  build: (g, x, p) =>
    linear(
      g,
      g.mul(g.sigmoid(linear(g, x, p("wg"), p("bg"))), g.tanh(linear(g, x, p("wv"), p("bv")))),
      p("wo"),
    ),
};

/** Wide single layer: k(x) = Wo·relu(Wi·x + bi) with a hidden layer at least 4× the input. */
const wideSingleLayer: BlueprintTemplate = {
  kind: "wide-single-layer",
  name: "Wide single layer",
  tier: BlueprintTier.HIGH_RISK,
  risk: 0.6,
  description: "One wide ReLU layer (hidden ≥ 4× input), zero-initialised output projection.",
  bounds: { inputWidth: { minValue: 1, maxValue: 1024 }, hiddenWidth: { minValue: 4, maxValue: 16384 } },
  params: (i, h) => {
    if (h < 4 * i)
      throw new Error(`wide-single-layer: hiddenWidth ${h} must be at least 4 × inputWidth ${i}`);
    return [
      { name: "wi", shape: [h, i], init: kaiming },
      { name: "bi", shape: [h], init: zeros },
      { name: "wo", shape: [i, h], init: zeros },
    ];
  },
  build: (g, x, p) => linear(g, g.relu(linear(g, x, p("wi"), p("bi"))), p("wo")),
};

/** Every blueprint template by kind. */
export const blueprintTemplates: Readonly<Record<string, BlueprintTemplate>> = {
  [residualMlp.kind]: residualMlp,
  [bottleneckAdapter.kind]: bottleneckAdapter,
  [lowRankLinear.kind]: lowRankLinear,
  [gatedUnit.kind]: gatedUnit,
  [wideSingleLayer.kind]: wideSingleLayer,
};
