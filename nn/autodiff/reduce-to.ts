import type { Graph, Tensor } from "../graph/graph.ts";
import { attr } from "../graph/graph.ts";
import { showShape } from "../graph/shape.ts";
import { type Dim, floatTensor } from "../onnx/model-proto.ts";

/** A float32 vector of ones of length `dim`: a constant when fixed, else built from the graph input carrying it. */
function ones(g: Graph, dim: Dim): Tensor {
  if (typeof dim === "number") return g.constant(new Float32Array(dim).fill(1), [dim], "ones");
  const source = g.inputs.find((i) => i.shape.includes(dim));
  if (!source) throw new Error(`reduceTo: no graph input has the dim '${dim}'`);
  const axis = source.shape.indexOf(dim);
  const [length] = g.op("Shape", [source], { start: attr.int(axis), end: attr.int(axis + 1) }, [
    { shape: [1], dtype: "int64" },
  ]);
  if (!length) throw new Error("Shape: no output");
  const [v] = g.op("ConstantOfShape", [length], { value: attr.tensor(floatTensor("one", [1], [1])) }, [
    { shape: [dim], hint: "ones" },
  ]);
  if (!v) throw new Error("ConstantOfShape: no output");
  return v;
}

/**
 * Sums a broadcast gradient back to the shape of the operand it came from: leading axes the operand
 * lacks are summed away, axes where the operand has size 1 are summed with keepdims. The sum over the
 * first axis of a 2-D gradient (a bias gradient) is written as ones · grad, which ORT runs several
 * times faster than ReduceSum over axis 0.
 */
export function reduceTo(g: Graph, grad: Tensor, target: readonly Dim[]): Tensor {
  const lead = grad.shape.length - target.length;
  if (lead < 0)
    throw new Error(`reduceTo: gradient ${showShape(grad.shape)} has lower rank than ${showShape(target)}`);
  let out = grad;
  const [rows, cols] = grad.shape;
  if (lead === 1 && grad.shape.length === 2 && rows !== undefined && cols !== undefined) {
    const [s] = g.op("MatMul", [ones(g, rows), grad], {}, [{ shape: [cols] }]);
    if (!s) throw new Error("MatMul: no output");
    out = s;
  } else if (lead > 0) out = g.reduceSum(out, [...Array(lead).keys()], false);
  const keepAxes: number[] = [];
  target.forEach((d, i) => {
    if (d === 1 && out.shape[i] !== 1) keepAxes.push(i);
  });
  if (keepAxes.length > 0) out = g.reduceSum(out, keepAxes, true);
  return out;
}
