/**
 * Parameter initialisers. Fan-in/fan-out follow PyTorch: a weight of shape [out, in, ...kernel]
 * (Linear, ONNX Gemm with transB=1, Conv) has fan_in = in·Π kernel and fan_out = out·Π kernel.
 * A weight stored as [in, out] (ONNX MatMul x·W) must say `layout: "inOut"`.
 */
import type { Rng } from "../rng.ts";

/** Which axis of a 2-D (or higher) weight is the input axis. */
export type WeightLayout = "outIn" | "inOut";

/** How a parameter is initialised. */
export type Init =
  | { readonly kind: "zeros" }
  | { readonly kind: "ones" }
  | { readonly kind: "constant"; readonly value: number }
  | { readonly kind: "normal"; readonly mean: number; readonly std: number }
  | { readonly kind: "uniform"; readonly low: number; readonly high: number }
  /** U(-b, b), b = gain·sqrt(6 / (fan_in + fan_out)). */
  | { readonly kind: "xavierUniform"; readonly gain?: number; readonly layout?: WeightLayout }
  /**
   * U(-b, b), b = gain·sqrt(3 / fan), gain = sqrt(2 / (1 + a²)) (a = 0 is ReLU; PyTorch's
   * Linear default is a = √5); fan is fan_in unless `mode` is "fanOut".
   */
  | {
      readonly kind: "kaimingUniform";
      readonly a?: number;
      readonly mode?: "fanIn" | "fanOut";
      readonly layout?: WeightLayout;
    };

/** Fan-in and fan-out of a weight shape (rank >= 2) in the given layout. */
export function fans(shape: readonly number[], layout: WeightLayout): { fanIn: number; fanOut: number } {
  if (shape.length < 2) {
    throw new Error(`fan-in/fan-out need a weight of rank >= 2, got shape [${shape.join(", ")}]`);
  }
  let receptive = 1;
  for (let i = 2; i < shape.length; i++) receptive *= shape[i] as number;
  const d0 = shape[0] as number;
  const d1 = shape[1] as number;
  return layout === "outIn"
    ? { fanIn: d1 * receptive, fanOut: d0 * receptive }
    : { fanIn: d0 * receptive, fanOut: d1 * receptive };
}

function requireFinite(value: number, field: string): void {
  if (!Number.isFinite(value)) throw new Error(`init.${field} must be a finite number, got ${String(value)}`);
}

/** Fills `out` (a tensor of `shape`) according to `init`, drawing from `rng`. */
export function initialise(out: Float32Array, shape: readonly number[], init: Init, rng: Rng): void {
  switch (init.kind) {
    case "zeros":
      out.fill(0);
      return;
    case "ones":
      out.fill(1);
      return;
    case "constant":
      requireFinite(init.value, "value");
      out.fill(init.value);
      return;
    case "normal":
      requireFinite(init.mean, "mean");
      requireFinite(init.std, "std");
      if (init.std < 0) throw new Error(`init.std must be >= 0, got ${init.std}`);
      rng.fillNormal(out, init.mean, init.std);
      return;
    case "uniform":
      requireFinite(init.low, "low");
      requireFinite(init.high, "high");
      if (!(init.low < init.high))
        throw new Error(`init.low must be < init.high, got [${init.low}, ${init.high})`);
      rng.fillUniform(out, init.low, init.high);
      return;
    case "xavierUniform": {
      const gain = init.gain ?? 1;
      requireFinite(gain, "gain");
      const { fanIn, fanOut } = fans(shape, init.layout ?? "outIn");
      const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
      rng.fillUniform(out, -bound, bound);
      return;
    }
    case "kaimingUniform": {
      const a = init.a ?? 0;
      requireFinite(a, "a");
      const { fanIn, fanOut } = fans(shape, init.layout ?? "outIn");
      const fan = init.mode === "fanOut" ? fanOut : fanIn;
      const bound = Math.sqrt(2 / (1 + a * a)) * Math.sqrt(3 / fan);
      rng.fillUniform(out, -bound, bound);
      return;
    }
  }
}
