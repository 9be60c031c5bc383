import { SeedLifecycleStage } from "../../contracts/enums.ts";
import { attr, type Graph, type Tensor } from "../graph/graph.ts";
import { inlineKernel, type Kernel } from "./kernel.ts";

/**
 * How the seed's output k(h) is blended into the slot activation h while BLENDING. α is the graph
 * input `alpha/<slotId>` (shape [1]), fed every step, so changing it needs no recompile.
 * - residual:   y = h + α·k(h)
 * - convex:     y = (1 − α)·h + α·k(h)
 * - channel:    y = (1 − a)·h + a·k(h), a = clip(α·v, 0, 1) per channel, v the graph input
 *               `alpha_vec/<slotId>` (shape [width])
 * - confidence: y = (1 − a)·h + a·k(h), a = clip(α·gate, lo, hi) per sample, where
 *               gate = sigmoid(sharpness·(top1 − top2 − tau)) over the features of k(h) (the margin
 *               between its two largest values), computed without gradient; gate = 1 when width < 2.
 */
export type BlendMode = "residual" | "convex" | "channel" | "confidence";

/** Parameters of the confidence gate (defaults of the original: sharpness 4, tau 0.2, lo 0, hi 1). */
export interface ConfidenceGate {
  readonly sharpness: number;
  readonly tau: number;
  readonly lo: number;
  readonly hi: number;
}

/** The original's confidence-gate defaults. */
export const DEFAULT_CONFIDENCE_GATE: ConfidenceGate = { sharpness: 4, tau: 0.2, lo: 0, hi: 1 };

/** A seed grafted at a slot: its id (parameters live under `seed/<seedId>/`) and its kernel. */
export interface GraftedSeed {
  readonly seedId: string;
  readonly kernel: Kernel;
  /** sha256 of the kernel artifact; part of the compile cache key. */
  readonly artifactSha256: string;
}

/**
 * What the compiled graph does at a slot with activation h:
 * - identity:  y = h (no seed, or a seed before TRAINING / after CULLED);
 * - incubator: y = h + k − stop_gradient(k), k = k(stop_gradient(h)) (TRAINING, the original's
 *              straight-through incubator): y equals h exactly, so the host's output and gradients
 *              are those of identity, while the seed receives the loss gradient at the slot, ∂L/∂y.
 *              The evaluation graph computes y = h without the kernel;
 * - blend:    see `BlendMode` (BLENDING);
 * - active:   fully active at α = 1: y = h + k(h) for residual, y = k(h) for the other modes
 *             (SHADOWING, PROBATIONARY, FOSSILIZED).
 */
export type SlotWiring =
  | { readonly kind: "identity" }
  | { readonly kind: "incubator"; readonly seed: GraftedSeed }
  | {
      readonly kind: "blend";
      readonly seed: GraftedSeed;
      readonly mode: BlendMode;
      readonly gate?: ConfidenceGate;
    }
  | { readonly kind: "active"; readonly seed: GraftedSeed; readonly mode: BlendMode };

/** The wiring a lifecycle stage calls for (ARCHITECTURE §5). Stages without a live seed give identity. */
export function wiringForStage(
  stage: SeedLifecycleStage,
  seed: GraftedSeed,
  mode: BlendMode,
  gate?: ConfidenceGate,
): SlotWiring {
  switch (stage) {
    case SeedLifecycleStage.TRAINING:
      return { kind: "incubator", seed };
    case SeedLifecycleStage.BLENDING:
      return gate ? { kind: "blend", seed, mode, gate } : { kind: "blend", seed, mode };
    case SeedLifecycleStage.SHADOWING:
    case SeedLifecycleStage.PROBATIONARY:
    case SeedLifecycleStage.FOSSILIZED:
      return { kind: "active", seed, mode };
    default:
      return { kind: "identity" };
  }
}

/** Name of the α input of a slot. */
export const alphaInputName = (slotId: string): string => `alpha/${slotId}`;
/** Name of the per-channel α vector input of a slot. */
export const alphaVecInputName = (slotId: string): string => `alpha_vec/${slotId}`;

/** Graph tensors a slot wiring needs: the seed's parameters by kernel parameter name. */
export type SeedParamsResolver = (seed: GraftedSeed) => ReadonlyMap<string, Tensor>;

function clip(g: Graph, x: Tensor, lo: number, hi: number): Tensor {
  const [y] = g.op("Clip", [x, g.scalar(lo), g.scalar(hi)], {}, [{ shape: x.shape }]);
  if (!y) throw new Error("Clip: no output");
  return y;
}

/** y = h + a·(k − h), i.e. (1 − a)·h + a·k. */
function convex(g: Graph, h: Tensor, k: Tensor, a: Tensor): Tensor {
  return g.add(h, g.mul(a, g.sub(k, h)));
}

function confidenceGate(g: Graph, k: Tensor, gate: ConfidenceGate): Tensor {
  const width = k.shape[1];
  const n = k.shape[0] ?? "N";
  if (typeof width !== "number" || width < 2) return g.constant([1], [1, 1], "gate_one");
  const kk = g.stopGradient(k);
  const [values] = g.op("TopK", [kk, g.constantInt64([2], [1], "k")], { axis: attr.int(-1) }, [
    { shape: [n, 2] },
    { shape: [n, 2], dtype: "int64" },
  ]);
  if (!values) throw new Error("TopK: no output");
  const margin = g.matmul(values, g.constant([1, -1], [2, 1], "margin"));
  return g.stopGradient(g.sigmoid(g.mul(g.sub(margin, g.scalar(gate.tau)), g.scalar(gate.sharpness))));
}

/**
 * The two uses of a slot's activation h in a training graph, as separate tensors so that their
 * gradients are the contributions of each path to ∂L/∂h:
 * - `host`: h on the host path (the direct term of the blend); absent when the wiring has none
 *   (active convex, channel and confidence blends output k(h) alone);
 * - `seed`: the kernel's input (sg(h) in the incubator, where ∂L/∂seed is what the seed would send
 *   into h, and h receives none of it).
 */
export interface SlotInterface {
  readonly host?: Tensor;
  readonly seed: Tensor;
  /** The slot's input activation h. */
  readonly slotInput: Tensor;
  /** Whether the seed path sends gradient into h (false in the incubator). */
  readonly seedReachesHost: boolean;
}

/**
 * Emits the wiring of one slot into `g` and returns the slot output. In "train" mode a wired seed's
 * `SlotInterface` is passed to `onInterface`.
 */
export function wireSlot(
  g: Graph,
  slotId: string,
  h: Tensor,
  wiring: SlotWiring,
  paramsOf: SeedParamsResolver,
  mode: "train" | "eval",
  onInterface: (slotId: string, i: SlotInterface) => void = () => {},
): Tensor {
  if (wiring.kind === "identity") return h;
  const { kernel } = wiring.seed;
  const width = h.shape[1];
  if (kernel.inputWidth !== width || kernel.outputWidth !== width) {
    throw new Error(
      `slot '${slotId}' has width ${String(width)}, seed '${wiring.seed.seedId}' kernel maps ${kernel.inputWidth} → ${kernel.outputWidth}`,
    );
  }
  const params = paramsOf(wiring.seed);
  if (wiring.kind === "incubator") {
    if (mode === "eval") return h;
    const host = g.identity(h);
    const seed = g.stopGradient(h);
    onInterface(slotId, { host, seed, slotInput: h, seedReachesHost: false });
    const k = inlineKernel(g, kernel, seed, params);
    return g.add(host, g.sub(k, g.stopGradient(k)));
  }
  const seedIn = mode === "train" ? g.identity(h) : h;
  const k = inlineKernel(g, kernel, seedIn, params);
  if (wiring.kind === "active" && wiring.mode !== "residual") {
    if (mode === "train") onInterface(slotId, { seed: seedIn, slotInput: h, seedReachesHost: true });
    return k;
  }
  const host = mode === "train" ? g.identity(h) : h;
  if (mode === "train") onInterface(slotId, { host, seed: seedIn, slotInput: h, seedReachesHost: true });
  if (wiring.kind === "active") return g.add(host, k);
  const alpha = g.input(alphaInputName(slotId), [1]);
  switch (wiring.mode) {
    case "residual":
      return g.add(host, g.mul(alpha, k));
    case "convex":
      return convex(g, host, k, alpha);
    case "channel": {
      const vec = g.input(alphaVecInputName(slotId), [width]);
      return convex(g, host, k, clip(g, g.mul(alpha, vec), 0, 1));
    }
    case "confidence": {
      const gate = wiring.gate ?? DEFAULT_CONFIDENCE_GATE;
      const a = clip(g, g.mul(alpha, confidenceGate(g, k, gate)), gate.lo, gate.hi);
      return convex(g, host, k, g.stopGradient(a));
    }
  }
}
