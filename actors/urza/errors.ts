/** A kernel artifact that ONNX Runtime cannot load or run as its descriptor says. */
export class KernelPrewarmError extends Error {
  override readonly name = "KernelPrewarmError";
}
