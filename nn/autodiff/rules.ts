import type { Graph, GraphNode, Tensor } from "../graph/graph.ts";
import { attr } from "../graph/graph.ts";
import { normalizeAxes, staticSize } from "../graph/shape.ts";
import { reduceTo } from "./reduce-to.ts";

/**
 * A reverse-mode rule: given the node, the gradients of its outputs (undefined where no gradient
 * flows) and which inputs need a gradient, emits backward nodes into `g` and returns input gradients.
 */
export type GradientRule = (
  g: Graph,
  node: GraphNode,
  dOut: readonly (Tensor | undefined)[],
  needs: readonly boolean[],
) => (Tensor | undefined)[];

function inp(node: GraphNode, i: number): Tensor {
  const t = node.inputs[i];
  if (!t) throw new Error(`${node.opType}: missing input ${i}`);
  return t;
}

function out0(node: GraphNode): Tensor {
  const t = node.outputs[0];
  if (!t) throw new Error(`${node.opType}: missing output`);
  return t;
}

function first(node: GraphNode, dOut: readonly (Tensor | undefined)[]): Tensor {
  const d = dOut[0];
  if (!d) throw new Error(`${node.opType}: no gradient for output 0`);
  return d;
}

function intAttr(node: GraphNode, name: string, fallback: number): number {
  const a = node.attributes[name];
  if (a === undefined) return fallback;
  if (a.kind !== "int") throw new Error(`${node.opType}: attribute ${name} must be int`);
  return a.value;
}

function floatAttr(node: GraphNode, name: string, fallback: number): number {
  const a = node.attributes[name];
  if (a === undefined) return fallback;
  if (a.kind !== "float") throw new Error(`${node.opType}: attribute ${name} must be float`);
  return a.value;
}

/** Shape(x) as an int64 tensor. */
function shapeOf(g: Graph, x: Tensor): Tensor {
  const [s] = g.op("Shape", [x], {}, [{ shape: [x.shape.length], dtype: "int64" }]);
  if (!s) throw new Error("Shape: no output");
  return s;
}

/** Broadcasts a reduced (keepdims) gradient back to the shape of `x`. */
function expandTo(g: Graph, d: Tensor, x: Tensor): Tensor {
  const [e] = g.op("Expand", [d, shapeOf(g, x)], {}, [{ shape: x.shape }]);
  if (!e) throw new Error("Expand: no output");
  return e;
}

/** Re-inserts reduced axes (size 1) into a gradient produced with keepdims = 0. */
function unsqueeze(g: Graph, d: Tensor, axes: readonly number[], rank: number): Tensor {
  const shape = [...d.shape];
  for (const a of axes) shape.splice(a, 0, 1);
  if (shape.length !== rank) throw new Error("unsqueeze: rank mismatch");
  const [u] = g.op("Unsqueeze", [d, g.constantInt64(axes, [axes.length], "axes")], {}, [{ shape }]);
  if (!u) throw new Error("Unsqueeze: no output");
  return u;
}

/** A float32 scalar tensor holding Size(t) (number of elements, known only at run time). */
function runtimeSize(g: Graph, t: Tensor): Tensor {
  const [n] = g.op("Size", [t], {}, [{ shape: [], dtype: "int64" }]);
  if (!n) throw new Error("Size: no output");
  const [f] = g.op("Cast", [n], { to: attr.int(1) }, [{ shape: [] }]);
  if (!f) throw new Error("Cast: no output");
  return f;
}

function reductionAxes(g: Graph, node: GraphNode): number[] {
  const x = inp(node, 0);
  if (node.opType === "ReduceMean") {
    const a = node.attributes.axes;
    if (a === undefined) return [...x.shape.keys()];
    if (a.kind !== "ints") throw new Error("ReduceMean: axes must be ints");
    return normalizeAxes(a.value, x.shape.length);
  }
  const axesT = node.inputs[1];
  if (!axesT) return [...x.shape.keys()];
  const c = g.constants.get(axesT.name);
  if (!c) throw new Error("ReduceSum: axes must be a graph constant to differentiate");
  return normalizeAxes(Array.from(new BigInt64Array(c.raw.slice().buffer), Number), x.shape.length);
}

function reduceGrad(g: Graph, node: GraphNode, dy: Tensor): Tensor {
  const x = inp(node, 0);
  const axes = reductionAxes(g, node);
  const keep = intAttr(node, "keepdims", 1) === 1;
  const d = keep ? dy : unsqueeze(g, dy, axes, x.shape.length);
  const expanded = expandTo(g, d, x);
  if (node.opType === "ReduceSum") return expanded;
  const count = staticSize(axes.map((a) => x.shape[a] ?? 1));
  if (count !== undefined) return g.mul(expanded, g.scalar(1 / count));
  return g.div(g.mul(expanded, runtimeSize(g, out0(node))), runtimeSize(g, x));
}

function gemmGrad(
  g: Graph,
  node: GraphNode,
  dOut: readonly (Tensor | undefined)[],
  needs: readonly boolean[],
) {
  const a = inp(node, 0);
  const b = inp(node, 1);
  const dy = first(node, dOut);
  const transA = intAttr(node, "transA", 0) === 1;
  const transB = intAttr(node, "transB", 0) === 1;
  const alpha = floatAttr(node, "alpha", 1);
  const beta = floatAttr(node, "beta", 1);
  let da: Tensor | undefined;
  let db: Tensor | undefined;
  let dc: Tensor | undefined;
  if (needs[0]) {
    da = transA
      ? g.gemm(b, dy, undefined, { transA: transB, transB: true, alpha })
      : g.gemm(dy, b, undefined, { transB: !transB, alpha });
  }
  if (needs[1]) {
    db = transB
      ? g.gemm(dy, a, undefined, { transA: true, transB: transA, alpha })
      : g.gemm(a, dy, undefined, { transA: !transA, alpha });
  }
  const c = node.inputs[2];
  if (needs[2] && c) dc = reduceTo(g, beta === 1 ? dy : g.mul(dy, g.scalar(beta)), c.shape);
  return [da, db, dc];
}

/** Gradient rules by ONNX operator type. */
export const gradientRules: Readonly<Record<string, GradientRule>> = {
  Identity: (_g, node, dOut) => [first(node, dOut)],
  Add: (g, node, dOut, needs) => {
    const dy = first(node, dOut);
    return [
      needs[0] ? reduceTo(g, dy, inp(node, 0).shape) : undefined,
      needs[1] ? reduceTo(g, dy, inp(node, 1).shape) : undefined,
    ];
  },
  Sub: (g, node, dOut, needs) => {
    const dy = first(node, dOut);
    return [
      needs[0] ? reduceTo(g, dy, inp(node, 0).shape) : undefined,
      needs[1] ? reduceTo(g, g.neg(dy), inp(node, 1).shape) : undefined,
    ];
  },
  Mul: (g, node, dOut, needs) => {
    const dy = first(node, dOut);
    const a = inp(node, 0);
    const b = inp(node, 1);
    return [
      needs[0] ? reduceTo(g, g.mul(dy, b), a.shape) : undefined,
      needs[1] ? reduceTo(g, g.mul(dy, a), b.shape) : undefined,
    ];
  },
  Div: (g, node, dOut, needs) => {
    const dy = first(node, dOut);
    const a = inp(node, 0);
    const b = inp(node, 1);
    return [
      needs[0] ? reduceTo(g, g.div(dy, b), a.shape) : undefined,
      needs[1] ? reduceTo(g, g.neg(g.mul(dy, g.div(out0(node), b))), b.shape) : undefined,
    ];
  },
  Neg: (g, node, dOut) => [g.neg(first(node, dOut))],
  Relu: (g, node, dOut) => {
    const y = out0(node);
    const zero = g.scalar(0);
    const [mask] = g.op("Greater", [y, zero], {}, [{ shape: y.shape, dtype: "bool" }]);
    if (!mask) throw new Error("Greater: no output");
    const [dx] = g.op("Where", [mask, first(node, dOut), zero], {}, [{ shape: y.shape }]);
    return [dx];
  },
  Tanh: (g, node, dOut) => {
    const y = out0(node);
    return [g.mul(first(node, dOut), g.sub(g.scalar(1), g.mul(y, y)))];
  },
  Sigmoid: (g, node, dOut) => {
    const y = out0(node);
    return [g.mul(first(node, dOut), g.mul(y, g.sub(g.scalar(1), y)))];
  },
  Exp: (g, node, dOut) => [g.mul(first(node, dOut), out0(node))],
  Log: (g, node, dOut) => [g.div(first(node, dOut), inp(node, 0))],
  Sqrt: (g, node, dOut) => [g.div(g.mul(first(node, dOut), g.scalar(0.5)), out0(node))],
  Abs: (g, node, dOut) => {
    const x = inp(node, 0);
    const [sign] = g.op("Sign", [x], {}, [{ shape: x.shape }]);
    if (!sign) throw new Error("Sign: no output");
    return [g.mul(first(node, dOut), sign)];
  },
  Softmax: (g, node, dOut) => {
    const y = out0(node);
    const dy = first(node, dOut);
    const axis = intAttr(node, "axis", -1);
    const s = g.reduceSum(g.mul(dy, y), [axis], true);
    return [g.mul(y, g.sub(dy, s))];
  },
  Gemm: gemmGrad,
  MatMul: (g, node, dOut, needs) => {
    const dy = first(node, dOut);
    return [
      needs[0] ? g.gemm(dy, inp(node, 1), undefined, { transB: true }) : undefined,
      needs[1] ? g.gemm(inp(node, 0), dy, undefined, { transA: true }) : undefined,
    ];
  },
  ReduceSum: (g, node, dOut) => [reduceGrad(g, node, first(node, dOut))],
  ReduceMean: (g, node, dOut) => [reduceGrad(g, node, first(node, dOut))],
  Transpose: (g, node, dOut) => {
    const p = node.attributes.perm;
    if (p?.kind !== "ints") throw new Error("Transpose: perm attribute required to differentiate");
    const inverse = new Array<number>(p.value.length);
    p.value.forEach((axis, i) => {
      inverse[axis] = i;
    });
    return [g.transpose(first(node, dOut), inverse)];
  },
  Reshape: (g, node, dOut) => {
    const x = inp(node, 0);
    const [dx] = g.op("Reshape", [first(node, dOut), shapeOf(g, x)], {}, [{ shape: x.shape }]);
    return [dx];
  },
  /** The composite of `Graph.softmaxCrossEntropy` (mean over the batch): (softmax − one-hot) / N. */
  SoftmaxCrossEntropy: (g, node, dOut) => {
    const logits = inp(node, 0);
    const labels = inp(node, 1);
    const logProb = node.outputs[1];
    if (!logProb) throw new Error("SoftmaxCrossEntropy: log-probability output required to differentiate");
    if (dOut[1]) throw new Error("SoftmaxCrossEntropy: the log-probability output is not differentiable");
    const classes = logits.shape[1];
    if (typeof classes !== "number") throw new Error("SoftmaxCrossEntropy: class count must be fixed");
    const [oneHot] = g.op(
      "OneHot",
      [labels, g.constant([classes], [1], "depth"), g.constant([0, 1], [2], "onehot_values")],
      { axis: attr.int(-1) },
      [{ shape: logits.shape }],
    );
    if (!oneHot) throw new Error("OneHot: no output");
    const probs = g.exp(logProb);
    const scale = g.div(first(node, dOut), runtimeSize(g, labels));
    return [g.mul(g.sub(probs, oneHot), scale), undefined];
  },
};
