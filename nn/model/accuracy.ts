/** Fraction of rows whose arg-max logit equals the label (logits row-major [n, classes]). */
export function argmaxAccuracy(logits: Float32Array, labels: Int32Array, classes: number): number {
  const n = labels.length;
  if (logits.length !== n * classes)
    throw new Error(`logits has ${logits.length} values, expected ${n}×${classes}`);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestValue = logits[i * classes] ?? Number.NEGATIVE_INFINITY;
    for (let c = 1; c < classes; c++) {
      const v = logits[i * classes + c] ?? Number.NEGATIVE_INFINITY;
      if (v > bestValue) {
        bestValue = v;
        best = c;
      }
    }
    if (best === labels[i]) correct++;
  }
  return n === 0 ? 0 : correct / n;
}

/** Fraction of rows where (logit > 0) equals (target > 0.5), for one-output binary classifiers. */
export function binaryAccuracy(logits: Float32Array, targets: Float32Array): number {
  if (logits.length !== targets.length) throw new Error("logits and targets differ in length");
  let correct = 0;
  for (let i = 0; i < logits.length; i++) if ((logits[i] ?? 0) > 0 === (targets[i] ?? 0) > 0.5) correct++;
  return logits.length === 0 ? 0 : correct / logits.length;
}
