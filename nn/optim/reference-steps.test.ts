/**
 * Optimizer steps against (a) plain float64 reference implementations written here from the
 * torch documentation, over random data, and (b) numbers printed by torch 1.13 (/usr/bin/python3):
 *   p = Parameter([0.5, -1.0, 2.0, 0.0]); for t in 1..3: p.grad = [0.1t, -0.2, 0.3/t, 1.0]; opt.step()
 *   with AdamW(lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1),
 *        SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
 *        SGD(lr=0.1, momentum=0.9, dampening=0.5).
 */
import { describe, expect, it } from "vitest";
import { ParameterStore } from "../params/store.ts";
import { createRng } from "../rng.ts";
import { AdamW } from "./adamw.ts";
import type { Optimizer } from "./optimizer.ts";
import { Sgd } from "./sgd.ts";

function torchCase(opt: (s: ParameterStore) => Optimizer<object>): Float32Array {
  const store = new ParameterStore(createRng(0));
  store.addValues("p", [4], [0.5, -1.0, 2.0, 0.0]);
  const o = opt(store);
  o.addGroup("all", ["p"]);
  for (let t = 1; t <= 3; t++) o.step(new Map([["p", Float32Array.from([0.1 * t, -0.2, 0.3 / t, 1.0])]]));
  return store.get("p");
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] as number;
    const a = actual[i] as number;
    if (Math.abs(a - e) > tol * Math.max(1, Math.abs(e))) {
      throw new Error(`element ${i}: got ${a}, expected ${e} (tolerance ${tol})`);
    }
  }
}

describe("against torch 1.13", () => {
  it("AdamW", () => {
    const p = torchCase(
      (s) => new AdamW(s, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 }),
    );
    expectClose(p, [0.19578640162944794, -0.6732890009880066, 1.662986397743225, -0.29700997471809387], 1e-6);
  });

  it("SGD with Nesterov momentum and weight decay", () => {
    const p = torchCase((s) => new Sgd(s, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.1 }));
    expectClose(p, [0.3166019320487976, -0.7626818418502808, 1.6825780868530273, -0.7910605669021606], 1e-6);
  });

  it("SGD with dampened momentum", () => {
    const p = torchCase((s) => new Sgd(s, { lr: 0.1, momentum: 0.9, dampening: 0.5 }));
    expectClose(
      p,
      [0.43890002369880676, -0.9168000221252441, 1.8994500637054443, -0.41600000858306885],
      1e-6,
    );
  });
});

function randomCase(seed: number, n: number, steps: number) {
  const rng = createRng(seed);
  const p0 = Array.from({ length: n }, () => rng.normal());
  const grads = Array.from({ length: steps }, () =>
    Array.from({ length: n }, () => Math.fround(rng.normal(0, 0.5))),
  );
  return { p0, grads };
}

describe("against float64 references", () => {
  it("AdamW over 20 steps with a cosine-like lr sequence", () => {
    const { p0, grads } = randomCase(1, 257, 20);
    const lrAt = (t: number) => 0.01 * (1 + Math.cos((Math.PI * t) / 20)) * 0.5 + 1e-4;
    const [b1, b2, eps, wd] = [0.85, 0.99, 1e-6, 0.05];
    const p = [...p0].map(Math.fround);
    const m = new Array<number>(p.length).fill(0);
    const v = new Array<number>(p.length).fill(0);
    grads.forEach((g, s) => {
      const t = s + 1;
      const lr = lrAt(s);
      for (let i = 0; i < p.length; i++) {
        const gi = g[i] as number;
        p[i] = (p[i] as number) * (1 - lr * wd);
        m[i] = b1 * (m[i] as number) + (1 - b1) * gi;
        v[i] = b2 * (v[i] as number) + (1 - b2) * gi * gi;
        const mHat = (m[i] as number) / (1 - b1 ** t);
        const vHat = (v[i] as number) / (1 - b2 ** t);
        p[i] = (p[i] as number) - (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
    });
    const store = new ParameterStore(createRng(0));
    store.addValues("w", [p0.length], p0);
    const opt = new AdamW(store, { lr: lrAt, beta1: b1, beta2: b2, eps, weightDecay: wd });
    opt.addGroup("g", ["w"]);
    for (const g of grads) opt.step({ w: Float32Array.from(g) });
    expectClose(store.get("w"), p, 1e-5);
    expect(opt.groupStep("g")).toBe(20);
  });

  it("SGD with momentum and weight decay over 20 steps", () => {
    const { p0, grads } = randomCase(2, 129, 20);
    const [lr, mu, wd] = [0.05, 0.9, 0.01];
    const p = [...p0].map(Math.fround);
    const buf = new Array<number>(p.length).fill(0);
    grads.forEach((g, s) => {
      for (let i = 0; i < p.length; i++) {
        const gi = (g[i] as number) + wd * (p[i] as number);
        buf[i] = s === 0 ? gi : mu * (buf[i] as number) + gi;
        p[i] = (p[i] as number) - lr * (buf[i] as number);
      }
    });
    const store = new ParameterStore(createRng(0));
    store.addValues("w", [p0.length], p0);
    const opt = new Sgd(store, { lr, momentum: mu, weightDecay: wd });
    opt.addGroup("g", ["w"]);
    for (const g of grads) opt.step(new Map([["w", Float32Array.from(g)]]));
    expectClose(store.get("w"), p, 1e-5);
  });

  it("plain SGD is p - lr·g", () => {
    const store = new ParameterStore(createRng(0));
    store.addValues("w", [3], [1, 2, 3]);
    const opt = new Sgd(store, { lr: 0.5 });
    opt.addGroup("g", ["w"]);
    opt.step({ w: Float32Array.from([2, -2, 0]) });
    expect(store.get("w")).toEqual(Float32Array.from([0, 3, 3]));
  });
});
