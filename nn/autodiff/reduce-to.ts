import type { Graph, Tensor } from "../graph/graph.ts";
import { showShape } from "../graph/shape.ts";
import type { Dim } from "../onnx/model-proto.ts";

/**
 * Sums a broadcast gradient back to the shape of the operand it came from: leading axes the operand
 * lacks are summed away, axes where the operand has size 1 are summed with keepdims.
 */
export function reduceTo(g: Graph, grad: Tensor, target: readonly Dim[]): Tensor {
  const lead = grad.shape.length - target.length;
  if (lead < 0)
    throw new Error(`reduceTo: gradient ${showShape(grad.shape)} has lower rank than ${showShape(target)}`);
  let out = grad;
  if (lead > 0) out = g.reduceSum(out, [...Array(lead).keys()], false);
  const keepAxes: number[] = [];
  target.forEach((d, i) => {
    if (d === 1 && out.shape[i] !== 1) keepAxes.push(i);
  });
  if (keepAxes.length > 0) out = g.reduceSum(out, keepAxes, true);
  return out;
}
