/** Gradients by parameter name, and global gradient-norm clipping. */

/** Gradients by parameter name (a Map, or a record such as ONNX Runtime's output object). */
export type Gradients = ReadonlyMap<string, Float32Array> | Readonly<Record<string, Float32Array>>;

/** The gradient for `name`, or undefined when `grads` has none. */
export function gradientOf(grads: Gradients, name: string): Float32Array | undefined {
  if (grads instanceof Map) return grads.get(name);
  const rec = grads as Readonly<Record<string, Float32Array>>;
  return Object.hasOwn(rec, name) ? rec[name] : undefined;
}

/** Every gradient buffer in `grads`. */
export function gradientValues(grads: Gradients): Iterable<Float32Array> {
  return grads instanceof Map
    ? grads.values()
    : Object.values(grads as Readonly<Record<string, Float32Array>>);
}

/** Global L2 norm over all gradient buffers (accumulated in float64). */
export function gradNorm(grads: Gradients): number {
  let sum = 0;
  for (const g of gradientValues(grads)) {
    for (let i = 0; i < g.length; i++) {
      const v = g[i] as number;
      sum += v * v;
    }
  }
  return Math.sqrt(sum);
}

/**
 * Scales all gradients in place so that their global L2 norm is at most `maxNorm` (factor
 * maxNorm / (norm + 1e-6), as PyTorch's clip_grad_norm_) and returns the norm before clipping.
 * A non-finite norm leaves the gradients untouched and is returned, so the caller can skip the step.
 */
export function clipGradNorm(grads: Gradients, maxNorm: number): number {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) {
    throw new Error(`clipGradNorm: maxNorm must be a finite number > 0, got ${String(maxNorm)}`);
  }
  const norm = gradNorm(grads);
  if (!Number.isFinite(norm)) return norm;
  const scale = maxNorm / (norm + 1e-6);
  if (scale >= 1) return norm;
  for (const g of gradientValues(grads)) {
    for (let i = 0; i < g.length; i++) g[i] = (g[i] as number) * scale;
  }
  return norm;
}
