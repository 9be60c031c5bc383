import { describe, expect, it } from "vitest";
import { ParameterStore } from "../params/store.ts";
import { createRng } from "../rng.ts";
import { AdamW } from "./adamw.ts";
import { restoreTrainingSnapshot, takeTrainingSnapshot } from "./training-snapshot.ts";

function setup() {
  const store = new ParameterStore(createRng(1));
  store.add("w", [4, 3], { kind: "kaimingUniform" });
  store.add("b", [4], { kind: "zeros" });
  const opt = new AdamW(store, { lr: 1e-2 });
  opt.addGroup("host", ["w", "b"]);
  const rng = createRng(2);
  const grads = new Map<string, Float32Array>();
  for (const n of store.names()) {
    const g = new Float32Array(store.get(n).length);
    rng.fillNormal(g, 0, 1);
    grads.set(n, g);
  }
  return { store, opt, grads };
}

describe("restoreTrainingSnapshot", () => {
  it("copies into the live buffers: the snapshot is not aliased and restores exactly again", () => {
    const { store, opt, grads } = setup();
    opt.step(grads);
    const snap = takeTrainingSnapshot(store, opt);
    const held = takeTrainingSnapshot(store, opt);
    const w = store.get("w");
    restoreTrainingSnapshot(store, opt, snap);
    expect(store.get("w")).toBe(w);
    opt.step(grads);
    opt.step(grads);
    expect(snap).toEqual(held);
    restoreTrainingSnapshot(store, opt, snap);
    expect(takeTrainingSnapshot(store, opt)).toEqual(held);
  });

  it("rejects a parameter half of another layout before writing the optimizer half", () => {
    const { store, opt, grads } = setup();
    const snap = takeTrainingSnapshot(store, opt);
    opt.step(grads);
    store.add("extra", [2], { kind: "zeros" });
    const before = takeTrainingSnapshot(store, opt);
    expect(() => restoreTrainingSnapshot(store, opt, snap)).toThrow('snapshot lacks parameter "extra"');
    expect(takeTrainingSnapshot(store, opt)).toEqual(before);
    expect(opt.groupStep("host")).toBe(1);
  });

  it("rejects parameter values that do not fit their shape, naming the parameter, writing nothing", () => {
    const { store, opt, grads } = setup();
    opt.step(grads);
    const snap = takeTrainingSnapshot(store, opt);
    const tensors = new Map(snap.params.tensors);
    tensors.set("b", { shape: [4], data: new Float32Array(3) });
    opt.step(grads);
    const before = takeTrainingSnapshot(store, opt);
    expect(() => restoreTrainingSnapshot(store, opt, { ...snap, params: { tensors } })).toThrow(
      'snapshot parameter "b" has 3 values, shape [4] needs 4',
    );
    expect(takeTrainingSnapshot(store, opt)).toEqual(before);
  });
});
