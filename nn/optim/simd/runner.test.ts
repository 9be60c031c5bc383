/**
 * The SIMD kernels against float64 reference loops over random inputs. Each output is checked
 * within a float32 error bound: 8 units of 2^-24 times the sum of the magnitudes of the terms that
 * make it up (so cancellation in, e.g., β1·m + (1−β1)·g is allowed for, and nothing more).
 */
import { describe, expect, it } from "vitest";
import { createRng } from "../../rng.ts";
import type { MemoryRegion } from "./kernel-memory.ts";
import { optimizerKernelModuleBytes } from "./kernels.ts";
import { compileKernelModule, OptimizerKernels } from "./runner.ts";

const ULP = 2 ** -24;
const LENGTHS = [0, 1, 3, 5, 203530, 7];

interface Expected {
  readonly value: Float64Array;
  readonly magnitude: Float64Array;
}

function expectWithin(name: string, actual: Float32Array, e: Expected): void {
  expect(actual.length).toBe(e.value.length);
  for (let i = 0; i < actual.length; i++) {
    const want = e.value[i] as number;
    const got = actual[i] as number;
    const tol = 8 * ULP * (e.magnitude[i] as number) + 1e-30;
    if (!(Math.abs(got - want) <= tol)) {
      throw new Error(`${name}[${i}] of ${actual.length}: got ${got}, expected ${want} (tolerance ${tol})`);
    }
  }
}

/** Bitwise equality, without vitest's element-by-element diffing of large arrays. */
function expectUnchanged(name: string, actual: Float32Array, before: Float32Array): void {
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const b = Buffer.from(before.buffer, before.byteOffset, before.byteLength);
  if (!a.equals(b)) throw new Error(`${name} was modified`);
}

function random(seed: number, n: number, std: number, abs = false): Float32Array {
  const a = new Float32Array(n);
  createRng(seed).fillNormal(a, 0, std);
  if (abs) for (let i = 0; i < n; i++) a[i] = Math.abs(a[i] as number);
  return a;
}

function expected(n: number): Expected {
  return { value: new Float64Array(n), magnitude: new Float64Array(n) };
}

describe("AdamW kernel", () => {
  it("matches the float64 reference for lengths 0, 1, 3, 5, 203530, 7", () => {
    const kernels = new OptimizerKernels();
    const [lr, b1, b2, eps, wd, step] = [0.01, 0.85, 0.99, 1e-6, 0.05, 3];
    const c = {
      b1,
      b2,
      c1: 1 - b1,
      c2: 1 - b2,
      decayRate: lr * wd,
      stepSize: lr / (1 - b1 ** step),
      invBc2Sqrt: 1 / Math.sqrt(1 - b2 ** step),
      eps,
    };
    LENGTHS.forEach((n, k) => {
      const p = random(10 + k, n, 1);
      const g = random(20 + k, n, 0.5);
      const m = random(30 + k, n, 0.1);
      const v = random(40 + k, n, 0.01, true);
      const [pe, me, ve] = [expected(n), expected(n), expected(n)];
      for (let i = 0; i < n; i++) {
        const [pi, gi, mi, vi] = [p[i] as number, g[i] as number, m[i] as number, v[i] as number];
        const mNew = b1 * mi + (1 - b1) * gi;
        const mMag = Math.abs(b1 * mi) + Math.abs((1 - b1) * gi);
        const vNew = b2 * vi + (1 - b2) * gi * gi;
        const den = Math.sqrt(vNew) * c.invBc2Sqrt + eps;
        me.value[i] = mNew;
        me.magnitude[i] = mMag;
        ve.value[i] = vNew;
        ve.magnitude[i] = vNew;
        pe.value[i] = pi - lr * wd * pi - (c.stepSize * mNew) / den;
        pe.magnitude[i] = Math.abs(pi) + Math.abs(lr * wd * pi) + (c.stepSize * mMag) / den;
      }
      const gBefore = g.slice();
      kernels.adamw(p, g, m, v, c);
      expectWithin("m", m, me);
      expectWithin("v", v, ve);
      expectWithin("p", p, pe);
      expectUnchanged("g", g, gBefore);
    });
  });
});

type SgdVariant = "plain" | "momentumFirst" | "nesterovFirst" | "momentum" | "nesterov";

describe("SGD kernels", () => {
  const [lr, wd, mu, keep] = [0.05, 0.01, 0.9, 0.6];
  const variants: readonly SgdVariant[] = ["plain", "momentumFirst", "nesterovFirst", "momentum", "nesterov"];

  it.each(variants)("%s matches the float64 reference for lengths 0, 1, 3, 5, 203530, 7", (variant) => {
    const kernels = new OptimizerKernels();
    LENGTHS.forEach((n, k) => {
      const p = random(50 + k, n, 1);
      const g = random(60 + k, n, 0.5);
      const buf = random(70 + k, n, 0.3);
      const [pe, be] = [expected(n), expected(n)];
      for (let i = 0; i < n; i++) {
        const [pi, gi, bi] = [p[i] as number, g[i] as number, buf[i] as number];
        const d = gi + wd * pi;
        const dMag = Math.abs(gi) + Math.abs(wd * pi);
        let step = d;
        let stepMag = dMag;
        if (variant === "momentumFirst" || variant === "nesterovFirst") {
          be.value[i] = d;
          be.magnitude[i] = dMag;
          if (variant === "nesterovFirst") {
            step = d + mu * d;
            stepMag = (1 + mu) * dMag;
          }
        } else if (variant === "momentum" || variant === "nesterov") {
          const b = mu * bi + keep * d;
          const bMag = Math.abs(mu * bi) + keep * dMag;
          be.value[i] = b;
          be.magnitude[i] = bMag;
          step = variant === "momentum" ? b : d + mu * b;
          stepMag = variant === "momentum" ? bMag : dMag + mu * bMag;
        }
        pe.value[i] = pi - lr * step;
        pe.magnitude[i] = Math.abs(pi) + lr * stepMag;
      }
      const gBefore = g.slice();
      const bufBefore = buf.slice();
      if (variant === "plain") kernels.sgd(p, g, lr, wd);
      else if (variant === "momentumFirst" || variant === "nesterovFirst") {
        kernels.sgdMomentumFirst(p, g, buf, lr, wd, mu, variant === "nesterovFirst");
      } else kernels.sgdMomentum(p, g, buf, lr, wd, mu, keep, variant === "nesterov");
      expectWithin("p", p, pe);
      if (variant === "plain") expectUnchanged("buf", buf, bufBefore);
      else expectWithin("buf", buf, be);
      expectUnchanged("g", g, gBefore);
    });
  });
});

describe("kernel runner", () => {
  it("grows its scratch memory for a larger tensor and keeps working on small ones after", () => {
    const kernels = new OptimizerKernels();
    const before = kernels.memory.reservedBytes;
    kernels.sgd(Float32Array.from([1, 2, 3]), Float32Array.from([1, 1, 1]), 0.5, 0);
    expect(kernels.memory.reservedBytes).toBe(before);
    expect(kernels.scratchBytes).toBe(32);
    const big = new Float32Array(100_000).fill(1);
    kernels.sgd(big, new Float32Array(100_000).fill(2), 0.25, 0);
    expect(kernels.scratchBytes).toBe(2 * 100_000 * 4);
    expect(kernels.memory.reservedBytes).toBeGreaterThanOrEqual(2 * 100_000 * 4);
    expect(big.every((x) => x === 0.5)).toBe(true);
    const small = Float32Array.from([1, 2, 3, 4, 5]);
    kernels.sgd(small, Float32Array.from([2, 2, 2, 2, 2]), 0.5, 0);
    expect(small).toEqual(Float32Array.from([0, 1, 2, 3, 4]));
  });

  it("runs on state regions in place, bit for bit as on copied arrays, and leaves them in memory", () => {
    const kernels = new OptimizerKernels();
    const n = 1001;
    const [p1, g] = [random(1, n, 1), random(2, n, 0.5)];
    const p2 = p1.slice();
    const [m, v] = [new Float32Array(n), new Float32Array(n)];
    const [mr, vr] = [kernels.memory.allocate(n), kernels.memory.allocate(n)];
    const c = {
      b1: 0.9,
      b2: 0.999,
      c1: 0.1,
      c2: 0.001,
      decayRate: 1e-4,
      stepSize: 0.01,
      invBc2Sqrt: 31.6,
      eps: 1e-8,
    };
    for (let t = 0; t < 3; t++) {
      kernels.adamw(p1, g, m, v, c);
      kernels.adamw(p2, g, mr, vr, c);
    }
    expectUnchanged("p", p2, p1);
    expectUnchanged("m", kernels.memory.view(mr), m);
    expectUnchanged("v", kernels.memory.view(vr), v);
  });

  it("rejects a released region and a region of another kernels' memory, naming the array", () => {
    const kernels = new OptimizerKernels();
    const buf = kernels.memory.allocate(4);
    kernels.memory.release(buf);
    const call = (b: MemoryRegion) =>
      kernels.sgdMomentum(new Float32Array(4), new Float32Array(4), b, 0.1, 0, 0.9, 1, false);
    expect(() => call(buf)).toThrow(
      'optimizer kernel "sgdMomentum": array "buf" is a region that is released or not in this kernels\' memory',
    );
    expect(() => call(new OptimizerKernels().memory.allocate(4))).toThrow(
      /array "buf" is a region that is released/,
    );
  });

  it("rejects arrays of different lengths, naming the array", () => {
    const kernels = new OptimizerKernels();
    expect(() =>
      kernels.sgdMomentum(
        new Float32Array(4),
        new Float32Array(4),
        new Float32Array(3),
        0.1,
        0,
        0.9,
        1,
        false,
      ),
    ).toThrow('optimizer kernel "sgdMomentum": array "buf" has 3 values, expected 4');
  });

  it("reports a runtime without WebAssembly SIMD when the module does not validate", () => {
    const bytes = optimizerKernelModuleBytes();
    expect(() => compileKernelModule(bytes)).not.toThrow();
    // Replace the first f32x4.div (FD E7 01) by the unassigned SIMD opcode 0x1FF (FD FF 03).
    const i = bytes.findIndex((b, k) => b === 0xfd && bytes[k + 1] === 0xe7 && bytes[k + 2] === 0x01);
    expect(i).toBeGreaterThan(0);
    const broken = bytes.slice();
    broken[i + 1] = 0xff;
    broken[i + 2] = 0x03;
    expect(() => compileKernelModule(broken)).toThrow(/the optimizers need WebAssembly SIMD \(f32x4\)/);
  });
});
