import type * as ort from "onnxruntime-node";
import { Graph, type Tensor } from "../graph/graph.ts";
import { toOnnxBytes } from "../graph/to-onnx.ts";
import { createSession, floatFeed, floatResult, int32Feed } from "../model/session.ts";
import type { Dim } from "../onnx/model-proto.ts";
import { gradients } from "./backward.ts";
import { Float64Reference, type ReferenceInput, relativeError } from "./float64-reference.ts";

/** One input of a gradient check: its declared shape (may be symbolic), run-time dims and values. */
export interface CheckInput {
  readonly name: string;
  readonly shape: readonly Dim[];
  readonly dims: readonly number[];
  readonly values: Float32Array | Int32Array;
  /** Whether to compare the gradient of this input (float32 only). */
  readonly differentiate: boolean;
}

/** Analytic vs central-difference gradient of one input. */
export interface GradComparison {
  readonly analytic: Float32Array;
  readonly numeric: Float64Array;
  /** ‖analytic − numeric‖ / max(‖analytic‖, ‖numeric‖, 1e-8). */
  readonly relError: number;
}

/**
 * Builds `loss = build(g, inputs)`, differentiates it with `gradients`, runs the training graph in ORT
 * and compares each requested gradient with central finite differences of the forward graph
 * evaluated in float64 (`Float64Reference`).
 */
export async function gradCheck(
  build: (g: Graph, inputs: Readonly<Record<string, Tensor>>) => Tensor,
  inputs: readonly CheckInput[],
): Promise<Map<string, GradComparison>> {
  const g = new Graph();
  const handles: Record<string, Tensor> = {};
  for (const i of inputs) {
    handles[i.name] = g.input(i.name, i.shape, i.values instanceof Int32Array ? "int32" : "float32");
  }
  const loss = build(g, handles);
  const forwardBytes = toOnnxBytes(g, new Map([["loss", loss]]), { name: "forward" });
  const wrt = inputs.filter((i) => i.differentiate).map((i) => handles[i.name] as Tensor);
  const grads = gradients(g, loss, wrt);
  const outputs = new Map<string, Tensor>([["loss", loss]]);
  for (const [name, t] of grads) outputs.set(`grad/${name}`, t);
  const trainBytes = toOnnxBytes(g, outputs, { name: "train" });
  const train = await createSession(trainBytes, { intraOpNumThreads: 1 });
  const reference = await Float64Reference.create(forwardBytes);
  const feeds: Record<string, ort.Tensor> = {};
  const wide = new Map<string, ReferenceInput>();
  for (const i of inputs) {
    feeds[i.name] =
      i.values instanceof Int32Array ? int32Feed(i.values, i.dims) : floatFeed(i.values, i.dims);
    wide.set(i.name, {
      data: i.values instanceof Int32Array ? i.values : Float64Array.from(i.values),
      dims: i.dims,
    });
  }
  const trained = await train.run(feeds);
  const result = new Map<string, GradComparison>();
  for (const input of inputs) {
    if (!input.differentiate) continue;
    if (!(input.values instanceof Float32Array))
      throw new Error(`gradCheck: '${input.name}' must be float32 to differentiate`);
    const analytic = floatResult(trained, `grad/${input.name}`).slice();
    const numeric = await reference.gradient(wide, input.name);
    result.set(input.name, { analytic, numeric, relError: relativeError(analytic, numeric) });
  }
  await Promise.all([train.release(), reference.release()]);
  return result;
}
