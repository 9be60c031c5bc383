import type { Graph, GraphNode, Tensor } from "../graph/graph.ts";
import { showShape } from "../graph/shape.ts";
import { gradientRules } from "./rules.ts";

/**
 * Appends reverse-mode gradient nodes of the rank-0 `loss` with respect to each tensor in `wrt` to
 * `g`, and returns the gradient tensors by name (same shape as the tensor).
 *
 * `observe` names further tensors (intermediates, e.g. the output of a `stopGradient`) whose gradient
 * ∂L/∂t is also returned: what would flow into t if nothing stopped it. They follow the rule of `wrt`.
 *
 * Gradients do not pass through `stopGradient` nodes; a composite op (`GraphNode.composite`) is
 * differentiated by its own rule instead of its primitives' rules. Every tensor in `wrt` must reach the loss
 * through differentiable operators; one that does not (or only through a stopGradient) is an error
 * naming it, as is an operator on the path without a rule in `rules.ts`.
 */
export function gradients(
  g: Graph,
  loss: Tensor,
  wrt: readonly Tensor[],
  observe: readonly Tensor[] = [],
): Map<string, Tensor> {
  if (loss.shape.length !== 0)
    throw new Error(`gradients: loss must be rank 0, got ${showShape(loss.shape)}`);
  // Each composite stands, in place of its primitives, at the position of its last primitive.
  const forward: GraphNode[] = [];
  g.nodes.forEach((n, i) => {
    if (!n.composite) forward.push(n);
    else if (g.nodes[i + 1]?.composite !== n.composite) forward.push(n.composite);
  });
  const wrtNames = new Set([...wrt, ...observe].map((t) => t.name));
  // Tensors that depend (differentiably) on some wrt tensor.
  const dependent = new Set(wrtNames);
  for (const n of forward) {
    if (n.stopGradient) continue;
    if (n.inputs.some((i) => dependent.has(i.name))) for (const o of n.outputs) dependent.add(o.name);
  }
  if (!dependent.has(loss.name))
    throw new Error("gradients: the loss does not depend on any requested tensor");

  const grads = new Map<string, Tensor>([[loss.name, g.scalar(1)]]);
  const accumulate = (t: Tensor, d: Tensor): void => {
    const prev = grads.get(t.name);
    grads.set(t.name, prev ? g.add(prev, d) : d);
  };
  for (let k = forward.length - 1; k >= 0; k--) {
    const node = forward[k];
    if (!node || node.stopGradient) continue;
    const dOut = node.outputs.map((o) => grads.get(o.name));
    if (dOut.every((d) => d === undefined)) continue;
    const needs = node.inputs.map((i) => dependent.has(i.name) && i.dtype === "float32");
    if (!needs.some(Boolean)) continue;
    const rule = gradientRules[node.opType];
    if (!rule) {
      throw new Error(`gradients: no gradient rule for ${node.opType} (output '${node.outputs[0]?.name}')`);
    }
    const dIn = rule(g, node, dOut, needs);
    node.inputs.forEach((input, i) => {
      const d = dIn[i];
      if (needs[i] && d) accumulate(input, d);
    });
  }
  const out = new Map<string, Tensor>();
  for (const t of [...wrt, ...observe]) {
    const d = grads.get(t.name);
    if (!d)
      throw new Error(`gradients: '${t.name}' does not reach the loss through differentiable operators`);
    out.set(t.name, d);
  }
  return out;
}
