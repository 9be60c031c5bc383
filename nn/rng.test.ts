import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { createRng } from "./rng.ts";

function take(n: number, f: () => number): number[] {
  return Array.from({ length: n }, f);
}

describe("createRng", () => {
  it("gives the same sequence for the same seed and different ones for different seeds", () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const sa = take(100, () => a.uint32());
    expect(take(100, () => b.uint32())).toEqual(sa);
    expect(take(100, () => c.uint32())).not.toEqual(sa);
    expect(new Set(sa).size).toBe(100);
  });

  it("gives the same sequence in another process", () => {
    const here = createRng(7);
    const expected = take(5, () => here.uint32());
    const script = `import { createRng } from ${JSON.stringify(new URL("./rng.ts", import.meta.url).pathname)};
const r = createRng(7); console.log(JSON.stringify([r.uint32(), r.uint32(), r.uint32(), r.uint32(), r.uint32()]));`;
    const out = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
    });
    expect(out.stderr).toBe("");
    expect(JSON.parse(out.stdout)).toEqual(expected);
  });

  it("pins the first outputs of seed 0 (changing the generator breaks saved runs)", () => {
    const r = createRng(0);
    const first = take(3, () => r.uint32());
    expect(first).toEqual([2535226241, 2479953327, 1683004354]);
  });

  it("rejects a seed that is not a safe integer", () => {
    expect(() => createRng(1.5)).toThrow(/seed must be a safe integer/);
    expect(() => createRng(Number.NaN)).toThrow(/seed/);
    expect(() => createRng(2 ** 60)).toThrow(/seed/);
  });

  it("uses high bits of large and negative seeds", () => {
    expect(createRng(2 ** 40).uint32()).not.toBe(createRng(0).uint32());
    expect(createRng(-1).uint32()).not.toBe(createRng(2 ** 32 - 1).uint32());
  });

  it("next() is uniform in [0, 1)", () => {
    const r = createRng(1);
    const n = 20000;
    const bins = new Array<number>(10).fill(0);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const v = r.next();
      expect(v >= 0 && v < 1).toBe(true);
      sum += v;
      bins[Math.floor(v * 10)] = (bins[Math.floor(v * 10)] ?? 0) + 1;
    }
    expect(sum / n).toBeCloseTo(0.5, 1);
    for (const b of bins) expect(Math.abs(b - n / 10)).toBeLessThan(0.08 * (n / 10));
  });

  it("int(n) covers [0, n) evenly and rejects bad n", () => {
    const r = createRng(2);
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 14000; i++) {
      const v = r.int(7);
      expect(Number.isInteger(v) && v >= 0 && v < 7).toBe(true);
      counts[v] = (counts[v] ?? 0) + 1;
    }
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
    expect(() => r.int(0)).toThrow(/n must be an integer/);
    expect(() => r.int(2.5)).toThrow(/n must be an integer/);
  });

  it("normal() and fillNormal() have the requested mean and std", () => {
    const r = createRng(3);
    const xs = take(20000, () => r.normal(2, 3));
    const mean = xs.reduce((a, b) => a + b) / xs.length;
    const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    expect(mean).toBeCloseTo(2, 1);
    expect(Math.abs(std - 3)).toBeLessThan(0.1);
    const buf = new Float32Array(20001);
    r.fillNormal(buf, -1, 0.5);
    let s = 0;
    let s2 = 0;
    for (const v of buf) {
      s += v;
      s2 += v * v;
    }
    const m = s / buf.length;
    expect(m).toBeCloseTo(-1, 1);
    expect(Math.abs(Math.sqrt(s2 / buf.length - m * m) - 0.5)).toBeLessThan(0.02);
  });

  it("fillUniform stays in [lo, hi)", () => {
    const buf = new Float32Array(5000);
    createRng(4).fillUniform(buf, -2, 3);
    expect(Math.min(...buf)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...buf)).toBeLessThan(3);
    expect(Math.min(...buf)).toBeLessThan(-1.9);
    expect(Math.max(...buf)).toBeGreaterThan(2.9);
  });

  it("shuffle is a seeded permutation", () => {
    const a = Array.from({ length: 50 }, (_, i) => i);
    const b = [...a];
    createRng(5).shuffle(a);
    createRng(5).shuffle(b);
    expect(a).toEqual(b);
    expect(a).not.toEqual([...a].sort((x, y) => x - y));
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const t = Int32Array.from({ length: 50 }, (_, i) => i);
    createRng(5).shuffleTyped(t);
    expect([...t]).toEqual(a);
  });

  it("fork depends on key and label only, not on parent consumption", () => {
    const p1 = createRng(9);
    const p2 = createRng(9);
    for (let i = 0; i < 10; i++) p2.uint32();
    expect(p1.fork("w").uint32()).toBe(p2.fork("w").uint32());
    expect(p1.fork("w").uint32()).not.toBe(p1.fork("b").uint32());
    expect(p1.fork(3).uint32()).toBe(p1.fork("3").uint32());
    expect(p1.fork("w").uint32()).not.toBe(createRng(10).fork("w").uint32());
    const child = p1.fork("w");
    expect(take(5, () => child.uint32())).not.toEqual(take(5, () => p1.uint32()));
  });

  it("getState/setState resumes the sequence and the fork key", () => {
    const r = createRng(11);
    r.uint32();
    const state = r.getState();
    const next = take(5, () => r.uint32());
    const other = createRng(99);
    other.setState(state);
    expect(take(5, () => other.uint32())).toEqual(next);
    expect(other.fork("x").uint32()).toBe(r.fork("x").uint32());
    expect(() => other.setState({ words: [1, 2, 3, -1], key: 0 })).toThrow(/uint32/);
  });
});
