import { Graph, type Tensor } from "../graph/graph.ts";
import type { Dim } from "../onnx/model-proto.ts";
import type { ParameterStore } from "../params/store.ts";
import { seedParamPrefix } from "./kernel.ts";
import { type GraftedSeed, type SlotInterface, type SlotWiring, wireSlot } from "./slots.ts";
import { type LayerSpec, layoutOf, type ModelSpec } from "./spec.ts";

/** Symbolic batch dimension of compiled graphs. */
export const BATCH: Dim = "N";
/** Name of the data input. */
export const INPUT_NAME = "x";
/** Name of the target input (int32 labels [N] or float targets [N, out]). */
export const TARGET_NAME = "target";
/** Name of the dropout mask input of a dropout layer. */
export const dropoutInputName = (name: string): string => `dropout/${name}`;

/** The forward graph of a host with its slot wirings. */
export interface ForwardGraph {
  readonly graph: Graph;
  readonly x: Tensor;
  readonly logits: Tensor;
  readonly target: Tensor;
  readonly loss: Tensor;
  /** Parameter graph inputs by store name (host and wired seeds). */
  readonly params: ReadonlyMap<string, Tensor>;
  /** In "train" mode, the interface tensors of every slot with a wired seed, by slot id. */
  readonly interfaces: ReadonlyMap<string, SlotInterface>;
}

/**
 * Builds the forward graph (input → layers → logits → loss) of `spec`. Parameters are graph inputs
 * named as in the store, with shapes read from it; every slot uses `wirings.get(slotId)` (identity when
 * absent). In "train" mode dropout layers multiply by their mask input; in "eval" mode dropout is the
 * identity and incubator slots leave out their kernel.
 */
export function buildForward(
  spec: ModelSpec,
  wirings: ReadonlyMap<string, SlotWiring>,
  store: ParameterStore,
  mode: "train" | "eval",
): ForwardGraph {
  const layout = layoutOf(spec);
  const slotIds = new Set(layout.slots.map((s) => s.slotId));
  for (const id of wirings.keys()) if (!slotIds.has(id)) throw new Error(`wiring for unknown slot '${id}'`);
  const g = new Graph();
  const params = new Map<string, Tensor>();
  const param = (name: string): Tensor => {
    const existing = params.get(name);
    if (existing) return existing;
    if (!store.has(name)) throw new Error(`parameter '${name}' is not in the parameter store`);
    const t = g.input(name, store.shape(name));
    params.set(name, t);
    return t;
  };
  const seedParams = (seed: GraftedSeed): ReadonlyMap<string, Tensor> => {
    const prefix = seedParamPrefix(seed.seedId);
    return new Map(seed.kernel.params.map((p) => [p.name, param(prefix + p.name)]));
  };
  const interfaces = new Map<string, SlotInterface>();
  const x = g.input(INPUT_NAME, [BATCH, spec.inputWidth]);
  const run = (layers: readonly LayerSpec[], input: Tensor): Tensor => {
    let h = input;
    for (const l of layers) {
      switch (l.kind) {
        case "linear":
          h = g.gemm(h, param(`${l.name}/weight`), l.bias === false ? undefined : param(`${l.name}/bias`), {
            transB: true,
          });
          break;
        case "activation":
          h = g[l.fn](h);
          break;
        case "layerNorm":
          h = g.layerNorm(h, param(`${l.name}/scale`), param(`${l.name}/shift`), l.epsilon);
          break;
        case "dropout":
          if (mode === "train" && l.p > 0) h = g.mul(h, g.input(dropoutInputName(l.name), h.shape));
          break;
        case "residual":
          h = g.add(h, run(l.body, h));
          break;
        case "slot":
          h = wireSlot(
            g,
            l.slotId,
            h,
            wirings.get(l.slotId) ?? { kind: "identity" },
            seedParams,
            mode,
            (id, i) => interfaces.set(id, i),
          );
          break;
      }
    }
    return h;
  };
  const logits = run(spec.layers, x);
  let target: Tensor;
  let loss: Tensor;
  if (spec.loss === "softmaxCrossEntropy") {
    target = g.input(TARGET_NAME, [BATCH], "int32");
    loss = g.softmaxCrossEntropy(logits, target);
  } else {
    target = g.input(TARGET_NAME, logits.shape);
    loss =
      spec.loss === "binaryCrossEntropy"
        ? g.sigmoidBinaryCrossEntropy(logits, target)
        : g.meanSquaredError(logits, target);
  }
  return { graph: g, x, logits, target, loss, params, interfaces };
}
