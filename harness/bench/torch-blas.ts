/**
 * Which BLAS the PyTorch peer of `esper bench train-step` ran on, and whether its timings are a valid
 * peer: Debian's torch calls the system libblas.so.3 alternative, which is the reference (netlib) BLAS
 * unless OpenBLAS is installed; timed on it, torch is many times slower (ratios of 0.05 were printed).
 */

/** The BLAS family behind torch's matrix products. */
export type BlasKind = "openblas" | "mkl" | "blis" | "reference" | "unknown";

/** The verdict on a peer: valid only on an optimised BLAS. */
export interface BlasVerdict {
  readonly kind: BlasKind;
  readonly valid: boolean;
  /** Why the peer is not valid, and how to fix it; absent when valid. */
  readonly reason?: string;
}

/** What to install so that libblas.so.3 is OpenBLAS. */
export const OPENBLAS_FIX =
  "install OpenBLAS (apt-get install libopenblas0-pthread), which becomes the libblas.so.3 alternative";

/**
 * Classifies from the BLAS libraries mapped into the peer (real paths) and the BLAS lines of
 * `torch.__config__.show()`. An optimised library mapped or named in the build config wins; a mapped
 * netlib libblas (…/blas/libblas.so.3) alone is the reference BLAS; nothing recognisable is unknown.
 */
export function classifyTorchBlas(libraries: readonly string[], configBlas: string): BlasVerdict {
  const text = `${libraries.join("\n")}\n${configBlas}`.toLowerCase();
  if (text.includes("openblas")) return { kind: "openblas", valid: true };
  if (text.includes("mkl")) return { kind: "mkl", valid: true };
  if (text.includes("blis")) return { kind: "blis", valid: true };
  const reference = libraries.find(
    (l) => /\/blas\/libblas\.so/.test(l) || /\/libblas\.so\.3(\.\d+)*$/.test(l),
  );
  if (reference !== undefined) {
    return {
      kind: "reference",
      valid: false,
      reason: `torch runs on the reference BLAS (${reference}): its timings are no peer; ${OPENBLAS_FIX}`,
    };
  }
  return {
    kind: "unknown",
    valid: false,
    reason: `no optimised BLAS found in torch (mapped: ${libraries.join(", ") || "none"}; config: ${configBlas.trim() || "none"}); ${OPENBLAS_FIX}`,
  };
}
