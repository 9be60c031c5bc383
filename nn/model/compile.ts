import { gradients } from "../autodiff/backward.ts";
import type { Tensor } from "../graph/graph.ts";
import { toOnnxBytes } from "../graph/to-onnx.ts";
import type { ParameterStore } from "../params/store.ts";
import { buildForward } from "./build.ts";
import type { SlotWiring } from "./slots.ts";
import type { ModelSpec } from "./spec.ts";

/** Name of the gradient output of a parameter. */
export const gradOutputName = (param: string): string => `grad/${param}`;

/** A compiled ONNX graph and what it reads and writes. */
export interface CompiledGraph {
  readonly bytes: Uint8Array;
  /** Parameters the graph reads (graph inputs named as in the store). */
  readonly paramNames: readonly string[];
  /** Parameters whose gradients are outputs (`grad/<name>`); empty for evaluation graphs. */
  readonly gradParams: readonly string[];
}

/** A stable text key of a set of slot wirings (kind, mode, seed id and kernel digest per slot). */
export function wiringKey(wirings: ReadonlyMap<string, SlotWiring>): string {
  return [...wirings]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([slot, w]) => {
      if (w.kind === "identity") return `${slot}=identity`;
      const mode = w.kind === "incubator" ? "" : `:${w.mode}`;
      const gate = w.kind === "blend" && w.gate ? `:${JSON.stringify(w.gate)}` : "";
      return `${slot}=${w.kind}${mode}${gate}:${w.seed.seedId}:${w.seed.artifactSha256}`;
    })
    .join(";");
}

/**
 * Compiles the training-step graph: outputs `loss`, `logits` and `grad/<p>` for every parameter the
 * graph reads for which `trainable(p)` holds (default: all).
 */
export function compileTraining(
  spec: ModelSpec,
  wirings: ReadonlyMap<string, SlotWiring>,
  store: ParameterStore,
  trainable: (param: string) => boolean = () => true,
): CompiledGraph {
  const f = buildForward(spec, wirings, store, "train");
  const wrt = [...f.params].filter(([name]) => trainable(name)).map(([, t]) => t);
  const grads = gradients(f.graph, f.loss, wrt);
  const outputs = new Map<string, Tensor>([
    ["loss", f.loss],
    ["logits", f.logits],
  ]);
  for (const [name, t] of grads) outputs.set(gradOutputName(name), t);
  return {
    bytes: toOnnxBytes(f.graph, outputs, { name: "train_step" }),
    paramNames: [...f.params.keys()],
    gradParams: [...grads.keys()],
  };
}

/** Compiles the evaluation graph: outputs `loss` and `logits`, no gradients, dropout off. */
export function compileEval(
  spec: ModelSpec,
  wirings: ReadonlyMap<string, SlotWiring>,
  store: ParameterStore,
): CompiledGraph {
  const f = buildForward(spec, wirings, store, "eval");
  const outputs = new Map<string, Tensor>([
    ["loss", f.loss],
    ["logits", f.logits],
  ]);
  return {
    bytes: toOnnxBytes(f.graph, outputs, { name: "eval" }),
    paramNames: [...f.params.keys()],
    gradParams: [],
  };
}
