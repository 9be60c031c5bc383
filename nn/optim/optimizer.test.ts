import { describe, expect, it } from "vitest";
import { ParameterStore } from "../params/store.ts";
import { createRng } from "../rng.ts";
import { AdamW } from "./adamw.ts";
import type { Optimizer } from "./optimizer.ts";
import { constantLr, linearWarmup } from "./schedule.ts";
import { Sgd } from "./sgd.ts";
import { restoreTrainingSnapshot, takeTrainingSnapshot } from "./training-snapshot.ts";

function setup() {
  const store = new ParameterStore(createRng(1));
  store.add("host.w", [4, 3], { kind: "kaimingUniform" });
  store.add("host.b", [4], { kind: "zeros" });
  store.add("seed1.w", [2, 4], { kind: "normal", mean: 0, std: 0.1 });
  const grads = new Map<string, Float32Array>();
  const rng = createRng(2);
  for (const n of store.names()) {
    const g = new Float32Array(store.get(n).length);
    rng.fillNormal(g, 0, 1);
    grads.set(n, g);
  }
  return { store, grads };
}

describe("parameter groups", () => {
  it("gives each group its own lr and step count; removed groups stop updating", () => {
    const { store, grads } = setup();
    const opt = new AdamW(store, { lr: 1e-2 });
    opt.addGroup("host", ["host.w", "host.b"]);
    opt.step(grads);
    opt.addGroup("seed1", ["seed1.w"], {
      lr: linearWarmup(constantLr(1e-3), { steps: 4, floor: 0 }),
      weightDecay: 0,
    });
    expect(opt.groupNames()).toEqual(["host", "seed1"]);
    expect(opt.lr("host")).toBe(1e-2);
    expect(opt.lr("seed1")).toBeCloseTo(0.25e-3, 12);
    expect(opt.groupHyper("seed1").weightDecay).toBe(0);
    expect(opt.groupHyper("host").weightDecay).toBe(0.01);
    opt.step(grads);
    expect(opt.groupStep("host")).toBe(2);
    expect(opt.groupStep("seed1")).toBe(1);
    expect(opt.lr("seed1")).toBeCloseTo(0.5e-3, 12);
    opt.removeGroup("seed1");
    const seedW = store.get("seed1.w").slice();
    opt.step(grads);
    expect(store.get("seed1.w")).toEqual(seedW);
    opt.addGroup("seed1-again", ["seed1.w"]);
    expect(opt.groupStep("seed1-again")).toBe(0);
  });

  it("steps only the named groups when asked", () => {
    const { store, grads } = setup();
    const opt = new Sgd(store, { lr: 0.1 });
    opt.addGroup("host", ["host.w", "host.b"]);
    opt.addGroup("seed1", ["seed1.w"]);
    const hostW = store.get("host.w").slice();
    const partial = new Map([["seed1.w", grads.get("seed1.w") ?? new Float32Array(0)]]);
    opt.step(partial, ["seed1"]);
    expect(store.get("host.w")).toEqual(hostW);
    expect(opt.groupStep("seed1")).toBe(1);
  });

  it("rejects missing or mis-sized gradients before writing anything", () => {
    const { store, grads } = setup();
    const opt = new Sgd(store, { lr: 0.1 });
    opt.addGroup("host", ["host.w", "host.b"]);
    const before = store.get("host.w").slice();
    const missing = new Map(grads);
    missing.delete("host.b");
    expect(() => opt.step(missing)).toThrow('no gradient for parameter "host.b" (optimizer group "host")');
    const short = new Map(grads);
    short.set("host.b", new Float32Array(2));
    expect(() => opt.step(short)).toThrow('gradient for parameter "host.b" has 2 values, parameter has 4');
    expect(store.get("host.w")).toEqual(before);
    expect(opt.groupStep("host")).toBe(0);
  });

  it("rejects bad groups and hyperparameters, naming them", () => {
    const { store } = setup();
    const opt = new AdamW(store, { lr: 1e-3 });
    opt.addGroup("host", ["host.w"]);
    expect(() => opt.addGroup("host", ["host.b"])).toThrow('optimizer group "host" already exists');
    expect(() => opt.addGroup("x", ["host.w"])).toThrow(
      'parameter "host.w" is already in optimizer group "host"',
    );
    expect(() => opt.addGroup("y", ["nope"])).toThrow('unknown parameter "nope"');
    expect(() => opt.addGroup("z", [])).toThrow('group "z" has no parameters');
    expect(() => opt.addGroup("b", ["host.b"], { beta1: 1 })).toThrow('group "b".beta1 must be in [0, 1)');
    expect(() => opt.addGroup("c", ["host.b"], { lr: -1 })).toThrow(
      'group "c".lr must be a finite number >= 0',
    );
    expect(() => opt.removeGroup("nope")).toThrow('unknown optimizer group "nope"');
    expect(() => new Sgd(store, { lr: 0.1, nesterov: true })).toThrow(/nesterov needs momentum > 0/);
    expect(() => new AdamW(store, { lr: 0.1, eps: 0 })).toThrow(/optimizer.eps must be a finite number > 0/);
    opt.setLr("host", () => Number.NaN);
    expect(() => opt.lr("host")).toThrow('group "host": schedule gave lr NaN at step 0');
  });
});

describe("snapshots", () => {
  it("restores parameters and optimizer state so that the next steps repeat exactly", () => {
    const { store, grads } = setup();
    const opt = new AdamW(store, { lr: 1e-2 });
    opt.addGroup("host", ["host.w", "host.b"]);
    opt.addGroup("seed1", ["seed1.w"], { lr: 5e-3 });
    opt.step(grads);
    const snap = takeTrainingSnapshot(store, opt);
    const w = store.get("host.w");
    opt.step(grads);
    opt.step(grads);
    const after = w.slice();
    opt.setLr("host", 0.5);
    restoreTrainingSnapshot(store, opt, snap);
    expect(store.get("host.w")).toBe(w);
    expect(opt.groupStep("host")).toBe(1);
    expect(opt.lr("host")).toBe(1e-2);
    opt.step(grads);
    opt.step(grads);
    expect(w).toEqual(after);
  });

  it.each([
    ["adamw", (s: ParameterStore) => new AdamW(s, { lr: 1e-2, weightDecay: 0.1 })],
    [
      "sgd nesterov",
      (s: ParameterStore) => new Sgd(s, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
    ],
    ["sgd dampened", (s: ParameterStore) => new Sgd(s, { lr: 0.05, momentum: 0.9, dampening: 0.3 })],
  ] as const)("%s: the SIMD kernels repeat a trajectory bit for bit after restore", (_, make) => {
    const store = new ParameterStore(createRng(3));
    // 1001 = 250 four-lane vectors plus a scalar tail of 1; 6 = one vector plus a tail of 2.
    store.add("a", [7, 143], { kind: "normal", mean: 0, std: 1 });
    store.add("b", [6], { kind: "normal", mean: 0, std: 1 });
    const opt: Optimizer<object> = make(store);
    opt.addGroup("all", ["a", "b"]);
    const rng = createRng(4);
    const grads = Array.from({ length: 6 }, () => {
      const ga = new Float32Array(1001);
      const gb = new Float32Array(6);
      rng.fillNormal(ga, 0, 1);
      rng.fillNormal(gb, 0, 1);
      return new Map([
        ["a", ga],
        ["b", gb],
      ]);
    });
    const run = (from: number) => {
      for (let t = from; t < grads.length; t++) opt.step(grads[t] as Map<string, Float32Array>);
      return { a: store.get("a").slice(), b: store.get("b").slice(), state: opt.snapshot() };
    };
    for (let t = 0; t < 2; t++) opt.step(grads[t] as Map<string, Float32Array>);
    const snap = takeTrainingSnapshot(store, opt);
    const first = run(2);
    restoreTrainingSnapshot(store, opt, snap);
    const second = run(2);
    expect(second.a).toEqual(first.a);
    expect(second.b).toEqual(first.b);
    expect(second.state.groups.get("all")?.slots).toEqual(first.state.groups.get("all")?.slots);
    expect(second.a).not.toEqual(snap.params.tensors.get("a")?.data);
  });

  it("reuses buffers of a matching snapshot", () => {
    const { store, grads } = setup();
    const opt = new Sgd(store, { lr: 0.1, momentum: 0.9 });
    opt.addGroup("host", ["host.w", "host.b", "seed1.w"]);
    opt.step(grads);
    const a = takeTrainingSnapshot(store, opt);
    const mBuf = a.optimizer.groups.get("host")?.slots[0]?.[0];
    opt.step(grads);
    const b = takeTrainingSnapshot(store, opt, a);
    expect(b.optimizer.groups.get("host")?.slots[0]?.[0]).toBe(mBuf);
    expect(b.params).toBe(a.params);
    expect(b.optimizer.groups.get("host")?.step).toBe(2);
  });

  it("rejects a snapshot of another group layout and leaves parameters unchanged", () => {
    const { store, grads } = setup();
    const opt = new AdamW(store, { lr: 1e-2 });
    opt.addGroup("host", ["host.w", "host.b"]);
    const snap = takeTrainingSnapshot(store, opt);
    opt.step(grads);
    opt.addGroup("seed1", ["seed1.w"]);
    const w = store.get("host.w").slice();
    expect(() => restoreTrainingSnapshot(store, opt, snap)).toThrow('optimizer snapshot lacks group "seed1"');
    expect(store.get("host.w")).toEqual(w);
    const sgd = new Sgd(store, { lr: 0.1 });
    sgd.addGroup("host", ["host.w", "host.b"]);
    expect(() => sgd.restore(snap.optimizer as never)).toThrow('optimizer snapshot is for "adamw"');
  });
});
