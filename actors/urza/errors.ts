/** A kernel artifact that ONNX Runtime cannot load or run as its descriptor says. */
export class KernelPrewarmError extends Error {
  override readonly name = "KernelPrewarmError";
}

/** A bus resource Urza reads or writes (the catalog bucket, the kernel store) does not exist. */
export class UrzaStoreMissingError extends Error {
  override readonly name = "UrzaStoreMissingError";
  constructor(readonly store: string) {
    super(`${store} does not exist: start Weatherlight or run \`esper resources ensure\``);
  }
}
