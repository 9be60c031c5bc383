/** XOR datasets: the 4-point truth table and a seeded noisy n-point variant. */

import type { Rng } from "../rng.ts";
import { type Dataset, permutation, subset } from "./dataset.ts";

/** The XOR truth table: x ∈ {(0,0), (0,1), (1,0), (1,1)}, y = x0 xor x1. */
export function xor4(): Dataset {
  return {
    name: "xor4",
    x: Float32Array.from([0, 0, 0, 1, 1, 0, 1, 1]),
    y: Int32Array.from([0, 1, 1, 0]),
    n: 4,
    features: 2,
    classes: 2,
  };
}

/**
 * n points around the four XOR corners (0/1 coordinates, n/4 each, remainder to the first corners)
 * with gaussian noise of std `noise` per coordinate, in seeded random order; y = corner's xor.
 */
export function xorNoisy(options: { n: number; noise: number; rng: Rng }): Dataset {
  const { n, noise, rng } = options;
  if (!Number.isInteger(n) || n < 4) throw new Error(`xorNoisy: n must be an integer >= 4, got ${n}`);
  if (!(noise >= 0 && Number.isFinite(noise))) throw new Error(`xorNoisy: noise must be >= 0, got ${noise}`);
  const x = new Float32Array(2 * n);
  const y = new Int32Array(n);
  const noiseRng = rng.fork("noise");
  for (let i = 0; i < n; i++) {
    const a = i & 1;
    const b = (i >> 1) & 1;
    x[2 * i] = a + noiseRng.normal(0, noise);
    x[2 * i + 1] = b + noiseRng.normal(0, noise);
    y[i] = a ^ b;
  }
  const ds: Dataset = { name: "xor", x, y, n, features: 2, classes: 2 };
  return subset(ds, permutation(n, rng.fork("order")));
}
