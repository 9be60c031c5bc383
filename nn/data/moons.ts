/** Two interleaving half circles (scikit-learn's make_moons), seeded. */

import type { Rng } from "../rng.ts";
import { type Dataset, permutation, subset } from "./dataset.ts";

/**
 * floor(n/2) points on the outer moon (cos t, sin t), class 0, and the rest on the inner moon
 * (1 − cos t, 1 − sin t − ½), class 1, t evenly spaced in [0, π]; gaussian noise of std `noise`
 * per coordinate; rows in seeded random order.
 */
export function moons(options: { n: number; noise: number; rng: Rng }): Dataset {
  const { n, noise, rng } = options;
  if (!Number.isInteger(n) || n < 2) throw new Error(`moons: n must be an integer >= 2, got ${n}`);
  if (!(noise >= 0 && Number.isFinite(noise))) throw new Error(`moons: noise must be >= 0, got ${noise}`);
  const nOut = Math.floor(n / 2);
  const nIn = n - nOut;
  const x = new Float32Array(2 * n);
  const y = new Int32Array(n);
  const noiseRng = rng.fork("noise");
  const angle = (i: number, m: number) => (m === 1 ? 0 : (Math.PI * i) / (m - 1));
  for (let i = 0; i < n; i++) {
    const outer = i < nOut;
    const t = outer ? angle(i, nOut) : angle(i - nOut, nIn);
    const px = outer ? Math.cos(t) : 1 - Math.cos(t);
    const py = outer ? Math.sin(t) : 1 - Math.sin(t) - 0.5;
    x[2 * i] = px + noiseRng.normal(0, noise);
    x[2 * i + 1] = py + noiseRng.normal(0, noise);
    y[i] = outer ? 0 : 1;
  }
  return subset({ name: "moons", x, y, n, features: 2, classes: 2 }, permutation(n, rng.fork("order")));
}
