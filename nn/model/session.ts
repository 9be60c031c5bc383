import * as ort from "onnxruntime-node";

/** How ONNX Runtime sessions are configured. */
export interface SessionConfig {
  /** Threads ORT may use inside one operator (stated in every benchmark). */
  readonly intraOpNumThreads: number;
}

/** Creates an ORT CPU session from in-memory model bytes (sequential execution, all graph optimisations). */
export async function createSession(bytes: Uint8Array, config: SessionConfig): Promise<ort.InferenceSession> {
  if (!Number.isInteger(config.intraOpNumThreads) || config.intraOpNumThreads < 1) {
    throw new Error(`intraOpNumThreads must be a positive integer, got ${config.intraOpNumThreads}`);
  }
  return ort.InferenceSession.create(bytes, {
    executionProviders: ["cpu"],
    intraOpNumThreads: config.intraOpNumThreads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
  });
}

/** Wraps a Float32Array as an ORT tensor without copying. */
export function floatFeed(data: Float32Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor("float32", data, dims);
}

/** Wraps an Int32Array as an ORT tensor without copying. */
export function int32Feed(data: Int32Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor("int32", data, dims);
}

/** The float32 data of a named result; throws if missing or of another type. */
export function floatResult(results: ort.InferenceSession.ReturnType, name: string): Float32Array {
  const t = results[name];
  if (!t) throw new Error(`onnx run: missing output '${name}'`);
  if (t.type !== "float32" || !(t.data instanceof Float32Array)) {
    throw new Error(`onnx run: output '${name}' is ${t.type}, expected float32`);
  }
  return t.data;
}
