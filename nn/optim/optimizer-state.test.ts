/**
 * Optimizer state kept in the kernels' WebAssembly memory: it survives the memory growing, is
 * released with its group, starts from zero in a reused region, and snapshots copy it exactly.
 */
import { describe, expect, it } from "vitest";
import { ParameterStore } from "../params/store.ts";
import { createRng } from "../rng.ts";
import { AdamW } from "./adamw.ts";
import type { Optimizer, OptimizerSnapshot } from "./optimizer.ts";
import { Sgd } from "./sgd.ts";

type Make = (s: ParameterStore) => Optimizer<object>;

const families: readonly (readonly [string, Make])[] = [
  ["adamw", (s) => new AdamW(s, { lr: 1e-2, weightDecay: 0.05 })],
  ["sgd momentum", (s) => new Sgd(s, { lr: 0.05, momentum: 0.9, dampening: 0.3, weightDecay: 0.01 })],
];

/** 100,000 floats of "big" need more than the kernel memory's first 64 KiB page. */
function newStore(): ParameterStore {
  const store = new ParameterStore(createRng(5));
  store.add("w", [9, 13], { kind: "normal", mean: 0, std: 1 });
  store.add("b", [9], { kind: "normal", mean: 0, std: 1 });
  store.add("big", [100_000], { kind: "normal", mean: 0, std: 1 });
  return store;
}

function gradients(store: ParameterStore, seed: number, count: number): Map<string, Float32Array>[] {
  const rng = createRng(seed);
  return Array.from(
    { length: count },
    () =>
      new Map(
        store.names().map((n) => {
          const g = new Float32Array(store.get(n).length);
          rng.fillNormal(g, 0, 1);
          return [n, g] as const;
        }),
      ),
  );
}

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function expectSameBits(
  actual: Float32Array | undefined,
  expected: Float32Array | undefined,
  what: string,
): void {
  if (actual === undefined || expected === undefined) throw new Error(`${what} is missing`);
  if (!bytes(actual).equals(bytes(expected))) throw new Error(`${what} differs bitwise`);
}

function expectSameState<H>(a: OptimizerSnapshot<H>, b: OptimizerSnapshot<H>, group: string): void {
  const sa = a.groups.get(group)?.slots;
  const sb = b.groups.get(group)?.slots;
  if (sa === undefined || sb === undefined) throw new Error(`group ${group} is missing`);
  expect(sa.length).toBe(sb.length);
  sa.forEach((ps, i) => {
    expect(ps.length).toBe(sb[i]?.length);
    ps.forEach((s, k) => {
      expectSameBits(s, sb[i]?.[k], `${group} state ${i}/${k}`);
    });
  });
}

describe.each(families)("%s state in kernel memory", (_, make) => {
  it("keeps earlier groups' state bit for bit when a group added after the first steps grows the memory", () => {
    const [store, ref] = [newStore(), newStore()];
    const [opt, refOpt] = [make(store), make(ref)];
    opt.addGroup("host", ["w", "b"]);
    refOpt.addGroup("host", ["w", "b"]);
    const grads = gradients(store, 6, 5);
    for (const g of grads.slice(0, 3)) {
      opt.step(g, ["host"]);
      refOpt.step(g, ["host"]);
    }
    const before = opt.kernelMemoryBytes;
    opt.addGroup("seed", ["big"]);
    expect(opt.kernelMemoryBytes).toBeGreaterThan(before);
    expectSameState(opt.snapshot(), refOpt.snapshot(), "host");
    for (const g of grads.slice(3)) {
      opt.step(g);
      refOpt.step(g, ["host"]);
    }
    expectSameState(opt.snapshot(), refOpt.snapshot(), "host");
    expectSameBits(store.get("w"), ref.get("w"), "w");
    expectSameBits(store.get("b"), ref.get("b"), "b");
  });

  it("releases a removed group's state, and a group in the reused space starts from zero", () => {
    const [store, ref] = [newStore(), newStore()];
    const opt = make(store);
    opt.addGroup("host", ["w", "b"]);
    const hostOnly = opt.stateBytes;
    opt.addGroup("seed", ["big"]);
    expect(opt.stateBytes).toBeGreaterThanOrEqual(hostOnly + 100_000 * 4);
    const grads = gradients(store, 7, 3);
    for (const g of grads) opt.step(g);
    const reserved = opt.kernelMemoryBytes;
    opt.removeGroup("seed");
    expect(opt.stateBytes).toBe(hostOnly);
    opt.addGroup("seed-again", ["big"]);
    expect(opt.kernelMemoryBytes).toBe(reserved);
    // A fresh optimizer over the same "big" values is what the new group must do.
    ref.get("big").set(store.get("big"));
    const refOpt = make(ref);
    refOpt.addGroup("seed-again", ["big"]);
    expectSameState(opt.snapshot(), refOpt.snapshot(), "seed-again");
    for (const g of grads) {
      opt.step(g, ["seed-again"]);
      refOpt.step(g, ["seed-again"]);
    }
    expectSameBits(store.get("big"), ref.get("big"), "big");
    expectSameState(opt.snapshot(), refOpt.snapshot(), "seed-again");
  });

  it("snapshots copy the state out (not views of kernel memory) and restore it bit for bit across a growth", () => {
    const store = newStore();
    const opt = make(store);
    opt.addGroup("host", ["w", "b"]);
    const grads = gradients(store, 8, 6);
    for (const g of grads.slice(0, 2)) opt.step(g);
    const snap = opt.snapshot();
    const params = store.snapshot();
    const held = opt.snapshot();
    for (const g of grads.slice(2)) opt.step(g);
    const first = { w: store.get("w").slice(), state: opt.snapshot() };
    expectSameState(snap, held, "host");
    opt.addGroup("seed", ["big"]);
    opt.step(grads[0] as Map<string, Float32Array>);
    opt.removeGroup("seed");
    opt.restore(snap);
    store.restore(params);
    expectSameState(opt.snapshot(), held, "host");
    for (const g of grads.slice(2)) opt.step(g);
    expectSameBits(store.get("w"), first.w, "w");
    expectSameState(opt.snapshot(), first.state, "host");
  });
});
