import { gradients } from "../autodiff/backward.ts";
import type { GraphNode, Tensor } from "../graph/graph.ts";
import { toOnnxBytes } from "../graph/to-onnx.ts";
import type { ParameterStore } from "../params/store.ts";
import { buildForward } from "./build.ts";
import type { SlotWiring } from "./slots.ts";
import type { ModelSpec } from "./spec.ts";

/** Name of the gradient output of a parameter. */
export const gradOutputName = (param: string): string => `grad/${param}`;

/** Name of the output holding ∂L/∂h along the host path of a slot. */
export const hostInterfaceOutputName = (slotId: string): string => `igrad/${slotId}/host`;
/** Name of the output holding ∂L/∂h along the seed path of a slot. */
export const seedInterfaceOutputName = (slotId: string): string => `igrad/${slotId}/seed`;

/** Name of the output holding the seed path's share of the gradient of host parameter `param`. */
export const contributionOutputName = (slotId: string, param: string): string => `cgrad/${slotId}/${param}`;

/** Which interface-gradient outputs a training graph has for one slot. */
export interface InterfaceOutputs {
  readonly slotId: string;
  /** False when the wiring has no host path (its host gradient is zero by construction). */
  readonly host: boolean;
  /**
   * Host parameters upstream of the slot whose gradient share through the seed path is an output
   * (`cgrad/<slot>/<param>` = Jᵀ·∂L/∂h along the seed path); empty when the seed path sends nothing
   * into h (the incubator) or nothing trainable is upstream.
   */
  readonly shared: readonly string[];
}

/** A compiled ONNX graph and what it reads and writes. */
export interface CompiledGraph {
  readonly bytes: Uint8Array;
  /** Parameters the graph reads (graph inputs named as in the store). */
  readonly paramNames: readonly string[];
  /** Parameters whose gradients are outputs (`grad/<name>`); empty for evaluation graphs. */
  readonly gradParams: readonly string[];
  /** Slots whose interface gradients are outputs (`igrad/<slot>/host|seed`); empty for evaluation graphs. */
  readonly interfaces: readonly InterfaceOutputs[];
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
 * Compiles the training-step graph: outputs `loss`, `logits`, `grad/<p>` for every parameter the
 * graph reads for which `trainable(p)` holds (default: all), and for every slot with a wired seed its
 * interface gradients `igrad/<slot>/seed` and (when the wiring has a host path) `igrad/<slot>/host`:
 * the contributions of the seed path and of the host path to ∂L/∂h, h the slot's input activation.
 * With `sharedContributions`, also `cgrad/<slot>/<p>`: the seed path's share of the gradient of each
 * trainable host parameter p upstream of the slot.
 */
export function compileTraining(
  spec: ModelSpec,
  wirings: ReadonlyMap<string, SlotWiring>,
  store: ParameterStore,
  trainable: (param: string) => boolean = () => true,
  sharedContributions = false,
): CompiledGraph {
  const f = buildForward(spec, wirings, store, "train");
  const wrt = [...f.params].filter(([name]) => trainable(name)).map(([, t]) => t);
  const observed = [...f.interfaces.values()].flatMap((i) => (i.host ? [i.host, i.seed] : [i.seed]));
  const grads = gradients(f.graph, f.loss, wrt, observed);
  const outputs = new Map<string, Tensor>([
    ["loss", f.loss],
    ["logits", f.logits],
  ]);
  const gradParams: string[] = [];
  for (const t of wrt) {
    const d = grads.get(t.name);
    if (!d) throw new Error(`compileTraining: no gradient for '${t.name}'`);
    outputs.set(gradOutputName(t.name), d);
    gradParams.push(t.name);
  }
  const interfaces: InterfaceOutputs[] = [];
  const gradOf = (t: Tensor): Tensor => {
    const d = grads.get(t.name);
    if (!d) throw new Error(`compileTraining: no gradient for interface '${t.name}'`);
    return f.graph.identity(d);
  };
  const hostParams = new Map([...f.params].filter(([name]) => trainable(name) && !name.startsWith("seed/")));
  for (const [slotId, i] of f.interfaces) {
    const seedGrad = gradOf(i.seed);
    outputs.set(seedInterfaceOutputName(slotId), seedGrad);
    if (i.host) outputs.set(hostInterfaceOutputName(slotId), gradOf(i.host));
    const shared: string[] = [];
    if (sharedContributions && i.seedReachesHost) {
      const upstream = upstreamOf(f.graph.nodes, i.slotInput, hostParams);
      if (upstream.length > 0) {
        // Σ h ⊙ sg(∂L/∂h_seed): its gradient at the host parameters is the seed path's share of theirs.
        const surrogate = f.graph.reduceSum(
          f.graph.mul(i.slotInput, f.graph.stopGradient(seedGrad)),
          [0, 1],
          false,
        );
        const parts = gradients(f.graph, surrogate, upstream);
        for (const t of upstream) {
          const d = parts.get(t.name);
          if (!d) throw new Error(`compileTraining: no contribution for '${t.name}'`);
          outputs.set(contributionOutputName(slotId, t.name), f.graph.identity(d));
          shared.push(t.name);
        }
      }
    }
    interfaces.push({ slotId, host: i.host !== undefined, shared });
  }
  return {
    bytes: toOnnxBytes(f.graph, outputs, { name: "train_step" }),
    paramNames: [...f.params.keys()],
    gradParams,
    interfaces,
  };
}

/** Parameters among `params` that `x` depends on through differentiable operators, in graph order. */
function upstreamOf(nodes: readonly GraphNode[], x: Tensor, params: ReadonlyMap<string, Tensor>): Tensor[] {
  const needed = new Set([x.name]);
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k];
    if (!n || n.stopGradient || !n.outputs.some((o) => needed.has(o.name))) continue;
    for (const i of n.inputs) needed.add(i.name);
  }
  return [...params.values()].filter((t) => needed.has(t.name));
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
    interfaces: [],
  };
}
