import type * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { BlueprintDescriptor } from "../../contracts/index.ts";
import { Graph } from "../graph/graph.ts";
import { toOnnxBytes } from "../graph/to-onnx.ts";
import { inlineKernel, parseKernel } from "../model/kernel.ts";
import { createSession, floatFeed, floatResult } from "../model/session.ts";
import { encodeModel } from "../onnx/encode.ts";
import { floatTensor } from "../onnx/model-proto.ts";
import { createRng } from "../rng.ts";
import { buildBlueprint } from "./artifact.ts";
import { blueprintTemplates } from "./library.ts";

const HIDDEN: Record<string, number> = {
  "residual-mlp": 8,
  "bottleneck-adapter": 3,
  "low-rank-linear": 2,
  "gated-unit": 5,
  "wide-single-layer": 24,
};

describe("blueprint kernels", () => {
  for (const kind of Object.keys(blueprintTemplates)) {
    it(`${kind}: valid descriptor, deterministic artifact, zero delta at init, inlined = standalone`, async () => {
      const config = { kind, inputWidth: 6, hiddenWidth: HIDDEN[kind] ?? 4, initSeed: 17 };
      const a = buildBlueprint(config, 1_700_000_000_000);
      const b = buildBlueprint(config, 1_700_000_000_001);
      expect(BlueprintDescriptor.parse(a.descriptor)).toEqual(a.descriptor);
      expect(b.descriptor.artifactSha256).toBe(a.descriptor.artifactSha256);
      expect(buildBlueprint({ ...config, initSeed: 18 }, 0).descriptor.artifactSha256).not.toBe(
        a.descriptor.artifactSha256,
      );
      const kernel = parseKernel(a.bytes);
      expect(kernel.params.reduce((n, p) => n + p.init.length, 0)).toBe(a.descriptor.parameterCount);

      const x = new Float32Array(4 * 6);
      createRng(1).fillNormal(x, 0, 1);
      const standalone = await createSession(a.bytes, { intraOpNumThreads: 1 });
      const atInit = floatResult(await standalone.run({ x: floatFeed(x, [4, 6]) }), "y");
      expect(Array.from(atInit).every((v) => v === 0)).toBe(true);

      // Non-zero parameters: the kernel run by ORT on its own equals the kernel inlined by the graph builder.
      const r = createRng(2);
      const values = new Map(
        kernel.params.map((p) => {
          const v = new Float32Array(p.init.length);
          r.fillNormal(v, 0, 0.5);
          return [p.name, v] as const;
        }),
      );
      const moved = encodeModel({
        ...kernel.model,
        graph: {
          ...kernel.model.graph,
          initializers: kernel.model.graph.initializers.map((t) => {
            const v = values.get(t.name);
            return v ? floatTensor(t.name, t.dims, v) : t;
          }),
        },
      });
      const movedSession = await createSession(moved, { intraOpNumThreads: 1 });
      const expected = floatResult(await movedSession.run({ x: floatFeed(x, [4, 6]) }), "y");
      const g = new Graph();
      const xIn = g.input("x", ["N", 6]);
      const handles = new Map(kernel.params.map((p) => [p.name, g.input(`p/${p.name}`, p.shape)]));
      const inlined = await createSession(
        toOnnxBytes(g, new Map([["y", inlineKernel(g, kernel, xIn, handles)]]), { name: "inlined" }),
        { intraOpNumThreads: 1 },
      );
      const feeds: Record<string, ort.Tensor> = { x: floatFeed(x, [4, 6]) };
      for (const p of kernel.params)
        feeds[`p/${p.name}`] = floatFeed(values.get(p.name) ?? new Float32Array(), p.shape);
      const got = floatResult(await inlined.run(feeds), "y");
      for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(expected[i] ?? Number.NaN, 5);
      expect(Array.from(got).some((v) => v !== 0)).toBe(true);
      await Promise.all([standalone.release(), inlined.release(), movedSession.release()]);
    });
  }

  it("rejects unknown kinds and out-of-bounds widths naming the field", () => {
    expect(() => buildBlueprint({ kind: "nope", inputWidth: 4, hiddenWidth: 4, initSeed: 1 }, 0)).toThrow(
      /kind 'nope'/,
    );
    expect(() =>
      buildBlueprint({ kind: "residual-mlp", inputWidth: 0, hiddenWidth: 4, initSeed: 1 }, 0),
    ).toThrow(/inputWidth/);
    expect(() =>
      buildBlueprint({ kind: "wide-single-layer", inputWidth: 8, hiddenWidth: 16, initSeed: 1 }, 0),
    ).toThrow(/hiddenWidth 16 must be at least 4/);
  });
});
