import { describe, expect, it } from "vitest";
import { buildBlueprint } from "../blueprints/artifact.ts";
import { Graph } from "../graph/graph.ts";
import { toOnnxBytes } from "../graph/to-onnx.ts";
import { ParameterStore } from "../params/store.ts";
import { createRng } from "../rng.ts";
import { graftSeed, removeSeedParams } from "./graft.ts";
import { inlineKernel, parseKernel } from "./kernel.ts";

describe("graftSeed", () => {
  it("adds the kernel's parameters under seed/<id>/ with the artifact's initial values, and removes them", () => {
    const store = new ParameterStore(createRng(1));
    const { bytes, descriptor } = buildBlueprint(
      { kind: "low-rank-linear", inputWidth: 4, hiddenWidth: 2, initSeed: 3 },
      0,
    );
    const seed = graftSeed(store, "s7", bytes, descriptor.artifactSha256);
    expect(store.names().sort()).toEqual(["seed/s7/u", "seed/s7/v"]);
    expect(Array.from(store.get("seed/s7/v"))).toEqual(
      Array.from(seed.kernel.params.find((p) => p.name === "v")?.init ?? []),
    );
    store.get("seed/s7/v").fill(2);
    graftSeed(store, "s7", bytes, descriptor.artifactSha256);
    expect(store.get("seed/s7/v").every((v) => v === 2)).toBe(true);
    removeSeedParams(store, seed);
    expect(store.count).toBe(0);
  });

  it("rejects a checksum mismatch without touching the store", () => {
    const store = new ParameterStore(createRng(1));
    const { bytes } = buildBlueprint(
      { kind: "low-rank-linear", inputWidth: 4, hiddenWidth: 2, initSeed: 3 },
      0,
    );
    expect(() => graftSeed(store, "s", bytes, "0".repeat(64))).toThrow(/sha256 .* differs from expected/);
    expect(store.count).toBe(0);
  });

  it("refuses kernels with an unsupported operator or the wrong interface", () => {
    const g = new Graph();
    const x = g.input("x", ["N", 3]);
    const [y] = g.op("Floor", [x], {}, [{ shape: x.shape }]);
    if (!y) throw new Error("no output");
    const kernel = parseKernel(toOnnxBytes(g, new Map([["y", y]]), { name: "k" }));
    expect(() => inlineKernel(new Graph(), kernel, new Graph().input("h", ["N", 3]), new Map())).toThrow(
      /kernel operator Floor is not supported/,
    );
    const g2 = new Graph();
    const a = g2.input("a", ["N", 3]);
    const b = g2.input("b", ["N", 3]);
    expect(() => parseKernel(toOnnxBytes(g2, new Map([["y", g2.add(a, b)]]), { name: "k2" }))).toThrow(
      /exactly one data input, found a, b/,
    );
  });
});
