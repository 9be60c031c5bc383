import * as ort from "onnxruntime-node";
import { createSession } from "../model/session.ts";
import { decodeModel } from "../onnx/decode.ts";
import { encodeModel } from "../onnx/encode.ts";
import { widenToFloat64 } from "../onnx/float64.ts";

/** A run-time input of the float64 reference: float data is widened to float64, int32 is kept. */
export interface ReferenceInput {
  readonly data: Float64Array | Int32Array;
  readonly dims: readonly number[];
}

/**
 * A float64 copy of a graph with a rank-0 `loss` output, for finite-difference references that are
 * free of float32 rounding.
 */
export class Float64Reference {
  private constructor(private readonly session: ort.InferenceSession) {}

  /** Widens `bytes` (an ONNX model with a `loss` output) to float64 and opens a session on it. */
  static async create(bytes: Uint8Array): Promise<Float64Reference> {
    const wide = encodeModel(widenToFloat64(decodeModel(bytes)));
    return new Float64Reference(await createSession(wide, { intraOpNumThreads: 1 }));
  }

  /** The loss for these inputs (inputs the graph does not read are ignored). */
  async loss(inputs: ReadonlyMap<string, ReferenceInput>): Promise<number> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.session.inputNames) {
      const i = inputs.get(name);
      if (!i) throw new Error(`float64 reference: missing input '${name}'`);
      feeds[name] =
        i.data instanceof Float64Array
          ? new ort.Tensor("float64", i.data, i.dims)
          : new ort.Tensor("int32", i.data, i.dims);
    }
    const out = (await this.session.run(feeds)).loss;
    if (!out || !(out.data instanceof Float64Array))
      throw new Error("float64 reference: no float64 'loss' output");
    return out.data[0] ?? Number.NaN;
  }

  /** Central-difference gradient of the loss with respect to float input `name` (step `eps`). */
  async gradient(
    inputs: ReadonlyMap<string, ReferenceInput>,
    name: string,
    eps = 1e-5,
  ): Promise<Float64Array> {
    const x = inputs.get(name)?.data;
    if (!(x instanceof Float64Array)) throw new Error(`float64 reference: '${name}' is not a float input`);
    const out = new Float64Array(x.length);
    for (let k = 0; k < x.length; k++) {
      const orig = x[k] ?? 0;
      x[k] = orig + eps;
      const plus = await this.loss(inputs);
      x[k] = orig - eps;
      const minus = await this.loss(inputs);
      x[k] = orig;
      out[k] = (plus - minus) / (2 * eps);
    }
    return out;
  }

  /** Releases the session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}

/** ‖a − b‖ / max(‖a‖, ‖b‖, 1e-12). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relativeError: lengths ${a.length} and ${b.length} differ`);
  let diff = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? Number.NaN;
    const y = b[i] ?? Number.NaN;
    diff += (x - y) ** 2;
    na += x * x;
    nb += y * y;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(na), Math.sqrt(nb), 1e-12);
}
