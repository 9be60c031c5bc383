/** Interleaved spiral arms, one class per arm, seeded. */

import type { Rng } from "../rng.ts";
import { type Dataset, permutation, subset } from "./dataset.ts";

/**
 * `classes` arms of n/classes points each (remainder to the first arms). Point i of an arm of m
 * points has radius r = (i + 1)/m and angle 2π·arm/classes + 2π·turns·r; coordinates
 * (r·cos θ, r·sin θ) plus gaussian noise of std `noise`; rows in seeded random order.
 */
export function spirals(options: {
  n: number;
  classes: number;
  turns: number;
  noise: number;
  rng: Rng;
}): Dataset {
  const { n, classes, turns, noise, rng } = options;
  if (!Number.isInteger(classes) || classes < 2) {
    throw new Error(`spirals: classes must be an integer >= 2, got ${classes}`);
  }
  if (!Number.isInteger(n) || n < classes)
    throw new Error(`spirals: n must be an integer >= classes, got ${n}`);
  if (!(turns > 0 && Number.isFinite(turns))) throw new Error(`spirals: turns must be > 0, got ${turns}`);
  if (!(noise >= 0 && Number.isFinite(noise))) throw new Error(`spirals: noise must be >= 0, got ${noise}`);
  const x = new Float32Array(2 * n);
  const y = new Int32Array(n);
  const noiseRng = rng.fork("noise");
  const base = Math.floor(n / classes);
  const extra = n % classes;
  let row = 0;
  for (let arm = 0; arm < classes; arm++) {
    const m = base + (arm < extra ? 1 : 0);
    for (let i = 0; i < m; i++, row++) {
      const r = (i + 1) / m;
      const theta = (2 * Math.PI * arm) / classes + 2 * Math.PI * turns * r;
      x[2 * row] = r * Math.cos(theta) + noiseRng.normal(0, noise);
      x[2 * row + 1] = r * Math.sin(theta) + noiseRng.normal(0, noise);
      y[row] = arm;
    }
  }
  return subset({ name: "spirals", x, y, n, features: 2, classes }, permutation(n, rng.fork("order")));
}
