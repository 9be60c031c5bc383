/** The in-memory classification dataset shape, row subsets and seeded splits. */
import type { Rng } from "../rng.ts";

/** Samples as row-major features `x` [n, features] and class indices `y` [n] in [0, classes). */
export interface Dataset {
  readonly name: string;
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly n: number;
  readonly features: number;
  readonly classes: number;
}

/** Checks that the buffers agree with n/features/classes; throws naming the field. */
export function checkDataset(ds: Dataset): void {
  const where = `dataset "${ds.name}"`;
  if (!Number.isInteger(ds.n) || ds.n < 0)
    throw new Error(`${where}: n must be an integer >= 0, got ${ds.n}`);
  if (!Number.isInteger(ds.features) || ds.features <= 0) {
    throw new Error(`${where}: features must be an integer > 0, got ${ds.features}`);
  }
  if (!Number.isInteger(ds.classes) || ds.classes < 2) {
    throw new Error(`${where}: classes must be an integer >= 2, got ${ds.classes}`);
  }
  if (ds.x.length !== ds.n * ds.features) {
    throw new Error(`${where}: x has ${ds.x.length} values, expected n·features = ${ds.n * ds.features}`);
  }
  if (ds.y.length !== ds.n) throw new Error(`${where}: y has ${ds.y.length} labels, expected n = ${ds.n}`);
  for (let i = 0; i < ds.n; i++) {
    const c = ds.y[i] as number;
    if (c < 0 || c >= ds.classes) throw new Error(`${where}: y[${i}] = ${c} is outside [0, ${ds.classes})`);
  }
}

/** A new dataset holding copies of rows `indices` (in that order) of `ds`. */
export function subset(ds: Dataset, indices: ArrayLike<number>, name: string = ds.name): Dataset {
  const f = ds.features;
  const m = indices.length;
  const x = new Float32Array(m * f);
  const y = new Int32Array(m);
  for (let r = 0; r < m; r++) {
    const i = indices[r] as number;
    if (!Number.isInteger(i) || i < 0 || i >= ds.n)
      throw new Error(`subset: row index ${i} outside [0, ${ds.n})`);
    x.set(ds.x.subarray(i * f, (i + 1) * f), r * f);
    y[r] = ds.y[i] as number;
  }
  return { name, x, y, n: m, features: f, classes: ds.classes };
}

/** Row indices 0..n-1 in a seeded random order. */
export function permutation(n: number, rng: Rng): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  rng.shuffleTyped(order);
  return order;
}

/** Train/validation/test partition of one dataset. */
export interface Splits {
  readonly train: Dataset;
  readonly validation: Dataset;
  readonly test: Dataset;
}

/**
 * Splits `ds` by a seeded permutation: the first round(validation·n) shuffled rows go to
 * validation, the next round(test·n) to test, the rest to train. Fractions are in [0, 1) with
 * validation + test < 1; a fraction of 0 gives an empty dataset (n = 0).
 */
export function splitDataset(ds: Dataset, fractions: { validation: number; test: number }, rng: Rng): Splits {
  const { validation, test } = fractions;
  for (const [field, v] of [
    ["validation", validation],
    ["test", test],
  ] as const) {
    if (!(v >= 0 && v < 1)) throw new Error(`splitDataset: ${field} fraction must be in [0, 1), got ${v}`);
  }
  if (!(validation + test < 1)) throw new Error("splitDataset: validation + test must be < 1");
  const order = permutation(ds.n, rng);
  const nVal = Math.round(validation * ds.n);
  const nTest = Math.round(test * ds.n);
  return {
    validation: subset(ds, order.subarray(0, nVal), `${ds.name}/validation`),
    test: subset(ds, order.subarray(nVal, nVal + nTest), `${ds.name}/test`),
    train: subset(ds, order.subarray(nVal + nTest), `${ds.name}/train`),
  };
}
