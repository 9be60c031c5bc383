import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createRng } from "../rng.ts";
import { fans } from "./init.ts";
import { ParameterStore } from "./store.ts";

function extent(a: Float32Array): { min: number; max: number; maxAbs: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of a) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max, maxAbs: Math.max(-min, max) };
}

function mlpStore(seed: number): ParameterStore {
  const s = new ParameterStore(createRng(seed));
  s.add("w1", [16, 8], { kind: "kaimingUniform" });
  s.add("b1", [16], { kind: "zeros" });
  s.add("w2", [3, 16], { kind: "xavierUniform" });
  s.add("b2", [3], { kind: "constant", value: 0.5 });
  return s;
}

describe("initialisation", () => {
  it("is deterministic per seed and name, independent of insertion order", () => {
    const a = mlpStore(1);
    const b = new ParameterStore(createRng(1));
    b.add("w2", [3, 16], { kind: "xavierUniform" });
    b.add("w1", [16, 8], { kind: "kaimingUniform" });
    expect(b.get("w1")).toEqual(a.get("w1"));
    expect(b.get("w2")).toEqual(a.get("w2"));
    expect(mlpStore(2).get("w1")).not.toEqual(a.get("w1"));
  });

  it("computes fans for [out, in] and [in, out] layouts and conv kernels", () => {
    expect(fans([256, 784], "outIn")).toEqual({ fanIn: 784, fanOut: 256 });
    expect(fans([784, 256], "inOut")).toEqual({ fanIn: 784, fanOut: 256 });
    expect(fans([8, 3, 5, 5], "outIn")).toEqual({ fanIn: 75, fanOut: 200 });
    expect(() => fans([4], "outIn")).toThrow(/rank >= 2/);
  });

  it("respects the kaiming and xavier bounds", () => {
    const s = new ParameterStore(createRng(3));
    const w = extent(s.add("w", [256, 784], { kind: "kaimingUniform" }));
    const bound = Math.sqrt(6 / 784);
    expect(w.max).toBeLessThanOrEqual(bound);
    expect(w.min).toBeGreaterThanOrEqual(-bound);
    expect(w.max).toBeGreaterThan(0.99 * bound);
    expect(w.min).toBeLessThan(-0.99 * bound);
    const wt = extent(s.add("wt", [784, 256], { kind: "kaimingUniform", layout: "inOut" }));
    expect(wt.maxAbs).toBeLessThanOrEqual(bound);
    expect(wt.maxAbs).toBeGreaterThan(0.99 * bound);
    const fanOut = extent(s.add("fo", [256, 784], { kind: "kaimingUniform", mode: "fanOut" }));
    expect(fanOut.maxAbs).toBeGreaterThan(Math.sqrt(6 / 784) * 1.5);
    expect(fanOut.maxAbs).toBeLessThanOrEqual(Math.sqrt(6 / 256));
    const x = extent(s.add("x", [10, 20], { kind: "xavierUniform", gain: 2 }));
    expect(x.maxAbs).toBeLessThanOrEqual(2 * Math.sqrt(6 / 30));
    expect(x.maxAbs).toBeGreaterThan(Math.sqrt(6 / 30));
    const torchDefault = extent(s.add("t", [10, 40], { kind: "kaimingUniform", a: Math.sqrt(5) }));
    expect(torchDefault.maxAbs).toBeLessThanOrEqual(1 / Math.sqrt(40) + 1e-7);
    const n = s.add("n", [4000], { kind: "normal", mean: 1, std: 0.1 });
    expect(n.reduce((a, b) => a + b) / n.length).toBeCloseTo(1, 2);
    expect(s.add("o", [3], { kind: "ones" })).toEqual(Float32Array.from([1, 1, 1]));
  });

  it("rejects bad shapes, bad init fields, duplicate and unknown names", () => {
    const s = mlpStore(1);
    expect(() => s.add("w1", [2], { kind: "zeros" })).toThrow(/"w1" already exists/);
    expect(() => s.add("z", [2, 0], { kind: "zeros" })).toThrow(/"z": shape must be positive integers/);
    expect(() => s.add("u", [2], { kind: "uniform", low: 1, high: 1 })).toThrow(
      /init.low must be < init.high/,
    );
    expect(() => s.add("v", [2], { kind: "normal", mean: 0, std: Number.NaN })).toThrow(/init.std/);
    expect(() => s.add("k", [5], { kind: "kaimingUniform" })).toThrow(/rank >= 2/);
    expect(() => s.get("nope")).toThrow(/unknown parameter "nope"/);
    expect(() => s.shape("nope")).toThrow(/"nope"/);
    expect(() => s.remove("nope")).toThrow(/"nope"/);
    expect(() => s.addValues("vals", [2, 2], [1, 2, 3])).toThrow(/3 values do not fit shape \[2, 2\]/);
  });
});

describe("ParameterStore", () => {
  it("tracks names, sizes and removal", () => {
    const s = mlpStore(1);
    expect(s.names()).toEqual(["w1", "b1", "w2", "b2"]);
    expect(s.size).toBe(16 * 8 + 16 + 3 * 16 + 3);
    expect(s.count).toBe(4);
    expect(s.shape("w2")).toEqual([3, 16]);
    s.addValues("seed.a", [2, 2], [1, 2, 3, 4]);
    expect(s.get("seed.a")).toEqual(Float32Array.from([1, 2, 3, 4]));
    s.remove("seed.a");
    expect(s.has("seed.a")).toBe(false);
    expect(s.size).toBe(16 * 8 + 16 + 3 * 16 + 3);
  });

  it("snapshot copies and restore writes into the same buffers", () => {
    const s = mlpStore(1);
    const w1 = s.get("w1");
    const before = w1.slice();
    const snap = s.snapshot();
    w1.fill(7);
    expect(snap.tensors.get("w1")?.data).toEqual(before);
    s.restore(snap);
    expect(s.get("w1")).toBe(w1);
    expect(w1).toEqual(before);
  });

  it("snapshot reuses a matching snapshot's buffers and allocates for a changed layout", () => {
    const s = mlpStore(1);
    const snap = s.snapshot();
    const buf = snap.tensors.get("b2")?.data;
    s.get("b2").fill(3);
    const again = s.snapshot(snap);
    expect(again).toBe(snap);
    expect(again.tensors.get("b2")?.data).toBe(buf);
    expect(buf).toEqual(Float32Array.from([3, 3, 3]));
    s.add("extra", [2], { kind: "zeros" });
    const fresh = s.snapshot(snap);
    expect(fresh).not.toBe(snap);
    expect(fresh.tensors.has("extra")).toBe(true);
  });

  it("restore rejects a snapshot with other names or shapes, naming the parameter", () => {
    const s = mlpStore(1);
    const snap = s.snapshot();
    s.add("seed.w", [2, 2], { kind: "zeros" });
    expect(() => s.restore(snap)).toThrow(/snapshot lacks parameter "seed.w"/);
    s.remove("seed.w");
    s.remove("b2");
    expect(() => s.restore(snap)).toThrow(/snapshot has parameter "b2" that the store does not have/);
    s.add("b2", [4], { kind: "zeros" });
    expect(() => s.restore(snap)).toThrow(/"b2" has shape \[3\], store has \[4\]/);
  });
});

describe("save and load", () => {
  let dir = "";
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "esper-params-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("round-trips through a file into the existing buffers and into a new store", async () => {
    const s = mlpStore(1);
    const path = join(dir, "params.bin");
    await s.save(path);
    const w1 = s.get("w1");
    const saved = w1.slice();
    w1.fill(0);
    await s.load(path);
    expect(s.get("w1")).toBe(w1);
    expect(w1).toEqual(saved);
    const t = await ParameterStore.fromFile(path, createRng(5));
    expect(t.names()).toEqual(s.names());
    for (const n of s.names()) {
      expect(t.shape(n)).toEqual(s.shape(n));
      expect(t.get(n)).toEqual(s.get(n));
    }
  });

  it("rejects wrong magic, version and checksum, naming the file", async () => {
    const s = mlpStore(1);
    const path = join(dir, "params.bin");
    await s.save(path);
    const good = await readFile(path);

    const badMagic = Buffer.from(good);
    badMagic.write("NOTESPER", 0, "ascii");
    await writeFile(path, badMagic);
    await expect(s.load(path)).rejects.toThrow(`tensor file ${path}: wrong magic`);

    const badVersion = Buffer.from(good);
    badVersion.writeUInt32LE(99, 8);
    await writeFile(path, badVersion);
    await expect(s.load(path)).rejects.toThrow(`tensor file ${path}: unsupported version 99`);

    const flipped = Buffer.from(good);
    flipped[flipped.length - 3] = (flipped[flipped.length - 3] ?? 0) ^ 0xff;
    await writeFile(path, flipped);
    await expect(s.load(path)).rejects.toThrow(`tensor file ${path}: checksum mismatch`);

    await writeFile(path, good.subarray(0, good.length - 8));
    await expect(s.load(path)).rejects.toThrow(/checksum mismatch/);

    await writeFile(path, good.subarray(0, 10));
    await expect(s.load(path)).rejects.toThrow(/wrong magic/);
  });

  it("rejects a file whose parameters differ from the store", async () => {
    const s = mlpStore(1);
    const path = join(dir, "params.bin");
    await s.save(path);
    s.remove("b2");
    await expect(s.load(path)).rejects.toThrow(`parameter file ${path} has parameter "b2"`);
  });

  it("names a missing file", async () => {
    const path = join(dir, "missing.bin");
    await expect(mlpStore(1).load(path)).rejects.toThrow(path);
  });
});
