import { describe, expect, it } from "vitest";
import { createRng } from "../rng.ts";
import { checkDataset, splitDataset } from "./dataset.ts";
import { moons } from "./moons.ts";
import { globalStats, standardize } from "./normalize.ts";
import { spirals } from "./spirals.ts";
import { xor4, xorNoisy } from "./xor.ts";

function classCounts(y: Int32Array, classes: number): number[] {
  const c = new Array<number>(classes).fill(0);
  for (const v of y) c[v] = (c[v] ?? 0) + 1;
  return c;
}

describe("synthetic datasets", () => {
  it("xor4 is the truth table", () => {
    const d = xor4();
    checkDataset(d);
    expect([...d.x]).toEqual([0, 0, 0, 1, 1, 0, 1, 1]);
    expect([...d.y]).toEqual([0, 1, 1, 0]);
  });

  it("noisy xor is seeded, balanced and labelled by its corner", () => {
    const a = xorNoisy({ n: 400, noise: 0.1, rng: createRng(1) });
    const b = xorNoisy({ n: 400, noise: 0.1, rng: createRng(1) });
    const c = xorNoisy({ n: 400, noise: 0.1, rng: createRng(2) });
    checkDataset(a);
    expect(a.x).toEqual(b.x);
    expect(a.y).toEqual(b.y);
    expect(a.x).not.toEqual(c.x);
    expect(classCounts(a.y, 2)).toEqual([200, 200]);
    for (let i = 0; i < a.n; i++) {
      const corner = (Math.round(a.x[2 * i] as number) ^ Math.round(a.x[2 * i + 1] as number)) & 1;
      expect(a.y[i]).toBe(corner);
    }
    expect(() => xorNoisy({ n: 2, noise: 0, rng: createRng(1) })).toThrow(
      "xorNoisy: n must be an integer >= 4",
    );
  });

  it("moons are seeded, split evenly, and lie on their half circles without noise", () => {
    const d = moons({ n: 101, noise: 0, rng: createRng(3) });
    checkDataset(d);
    expect(classCounts(d.y, 2)).toEqual([50, 51]);
    for (let i = 0; i < d.n; i++) {
      const x = d.x[2 * i] as number;
      const y = d.x[2 * i + 1] as number;
      const r = d.y[i] === 0 ? Math.hypot(x, y) : Math.hypot(x - 1, y - 0.5);
      expect(r).toBeCloseTo(1, 5);
    }
    expect(moons({ n: 101, noise: 0.2, rng: createRng(3) }).x).toEqual(
      moons({ n: 101, noise: 0.2, rng: createRng(3) }).x,
    );
  });

  it("spirals have any number of arms and points", () => {
    const d = spirals({ n: 301, classes: 5, turns: 1.5, noise: 0, rng: createRng(4) });
    checkDataset(d);
    expect(d.classes).toBe(5);
    expect(classCounts(d.y, 5)).toEqual([61, 60, 60, 60, 60]);
    let maxR = 0;
    for (let i = 0; i < d.n; i++)
      maxR = Math.max(maxR, Math.hypot(d.x[2 * i] as number, d.x[2 * i + 1] as number));
    expect(maxR).toBeCloseTo(1, 5);
    const again = spirals({ n: 301, classes: 5, turns: 1.5, noise: 0, rng: createRng(4) });
    expect(again.y).toEqual(d.y);
    expect(() => spirals({ n: 10, classes: 1, turns: 1, noise: 0, rng: createRng(1) })).toThrow(
      "spirals: classes must be an integer >= 2",
    );
  });
});

describe("splits and normalisation", () => {
  it("splits by a seeded permutation into disjoint parts covering all rows", () => {
    const d = spirals({ n: 1000, classes: 3, turns: 1, noise: 0.05, rng: createRng(5) });
    const s = splitDataset(d, { validation: 0.1, test: 0.2 }, createRng(6));
    expect([s.train.n, s.validation.n, s.test.n]).toEqual([700, 100, 200]);
    const key = (x: Float32Array, i: number) => `${x[2 * i]},${x[2 * i + 1]}`;
    const all = new Set(Array.from({ length: d.n }, (_, i) => key(d.x, i)));
    const seen = new Set<string>();
    for (const part of [s.train, s.validation, s.test]) {
      checkDataset(part);
      for (let i = 0; i < part.n; i++) seen.add(key(part.x, i));
    }
    expect(seen).toEqual(all);
    const again = splitDataset(d, { validation: 0.1, test: 0.2 }, createRng(6));
    expect(again.validation.x).toEqual(s.validation.x);
    expect(splitDataset(d, { validation: 0.1, test: 0.2 }, createRng(7)).validation.x).not.toEqual(
      s.validation.x,
    );
    expect(splitDataset(d, { validation: 0.1, test: 0 }, createRng(6)).test.n).toBe(0);
    expect(() => splitDataset(d, { validation: 0.6, test: 0.4 }, createRng(6))).toThrow(
      "validation + test must be < 1",
    );
  });

  it("standardises to zero mean and unit std", () => {
    const d = moons({ n: 500, noise: 0.1, rng: createRng(8) });
    standardize(d, globalStats(d));
    const s = globalStats(d);
    expect(s.mean).toBeCloseTo(0, 5);
    expect(s.std).toBeCloseTo(1, 5);
    expect(() => standardize(d, { mean: 0, std: 0 })).toThrow("standardize: std must be > 0");
  });
});
