import { describe, expect, it } from "vitest";
import type { Graph, Tensor } from "../graph/graph.ts";
import type { Dim } from "../onnx/model-proto.ts";
import { createRng } from "../rng.ts";
import { type CheckInput, gradCheck } from "./grad-check.ts";

const rng = createRng(1234);

/** Random values in ±[lo, hi] (kept away from 0 so Relu's kink is not straddled by the FD step). */
function values(n: number, lo = 0.2, hi = 1.5): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.next() < 0.5 ? -1 : 1) * (lo + (hi - lo) * rng.next());
  return out;
}

function positive(n: number): Float32Array {
  return values(n).map(Math.abs);
}

function input(
  name: string,
  dims: readonly number[],
  data = values(dims.reduce((a, b) => a * b, 1)),
  shape?: readonly Dim[],
) {
  return { name, shape: shape ?? dims, dims, values: data, differentiate: true } satisfies CheckInput;
}

/** Sum of `y` weighted by fixed random coefficients, so every output element matters. */
function weightedSum(g: Graph, y: Tensor, dims: readonly number[]): Tensor {
  const r = g.constant(
    values(
      dims.reduce((a, b) => a * b, 1),
      0.5,
      1.5,
    ),
    dims,
  );
  const prod = g.mul(y, r);
  return g.reduceSum(prod, [...prod.shape.keys()], false);
}

async function expectClose(
  build: (g: Graph, t: Readonly<Record<string, Tensor>>) => Tensor,
  inputs: readonly CheckInput[],
): Promise<void> {
  const result = await gradCheck(build, inputs);
  for (const i of inputs.filter((x) => x.differentiate)) {
    const c = result.get(i.name);
    expect(c, i.name).toBeDefined();
    expect(c?.relError, `relative error of grad/${i.name}`).toBeLessThan(1e-3);
  }
}

const t = (m: Readonly<Record<string, Tensor>>, k: string): Tensor => {
  const v = m[k];
  if (!v) throw new Error(`missing ${k}`);
  return v;
};

describe("gradients match central finite differences", () => {
  it("Add/Sub/Mul/Div with broadcasting", async () => {
    for (const op of ["add", "sub", "mul", "div"] as const) {
      await expectClose(
        (g, m) => weightedSum(g, g[op](t(m, "a"), t(m, "b")), [3, 4]),
        [input("a", [3, 4]), input("b", [4], op === "div" ? positive(4).map((v) => v + 0.5) : values(4))],
      );
      await expectClose(
        (g, m) => weightedSum(g, g[op](t(m, "a"), t(m, "b")), [3, 4]),
        [input("a", [3, 1]), input("b", [1, 4], op === "div" ? positive(4).map((v) => v + 0.5) : values(4))],
      );
    }
  });

  it("unary ops: Neg, Abs, Relu, Tanh, Sigmoid, Exp, Log, Sqrt, Softplus, Softmax, GELU", async () => {
    const unary = ["neg", "abs", "relu", "tanh", "sigmoid", "exp", "softplus", "softmax", "gelu"] as const;
    for (const op of unary) {
      await expectClose((g, m) => weightedSum(g, g[op](t(m, "x")), [2, 5]), [input("x", [2, 5])]);
    }
    for (const op of ["log", "sqrt"] as const) {
      await expectClose(
        (g, m) => weightedSum(g, g[op](t(m, "x")), [2, 5]),
        [
          input(
            "x",
            [2, 5],
            positive(10).map((v) => v + 0.5),
          ),
        ],
      );
    }
  });

  it("Gemm in every transpose combination, with bias, and MatMul", async () => {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        await expectClose(
          (g, m) =>
            weightedSum(g, g.gemm(t(m, "a"), t(m, "b"), t(m, "c"), { transA, transB, alpha: 0.7 }), [3, 2]),
          [input("a", transA ? [4, 3] : [3, 4]), input("b", transB ? [2, 4] : [4, 2]), input("c", [2])],
        );
      }
    }
    // β ≠ 1 scales the bias gradient (and a full [3, 2] C is not reduced).
    for (const cShape of [[2], [3, 2]]) {
      await expectClose(
        (g, m) => weightedSum(g, g.gemm(t(m, "a"), t(m, "b"), t(m, "c"), { alpha: 0.7, beta: -1.3 }), [3, 2]),
        [input("a", [3, 4]), input("b", [4, 2]), input("c", cShape)],
      );
    }
    await expectClose(
      (g, m) => weightedSum(g, g.matmul(t(m, "a"), t(m, "b")), [3, 2]),
      [input("a", [3, 4]), input("b", [4, 2])],
    );
  });

  it("ReduceSum, ReduceMean (keepdims on/off, symbolic batch), Transpose, Reshape", async () => {
    await expectClose(
      (g, m) => weightedSum(g, g.reduceSum(t(m, "x"), [0], false), [4]),
      [input("x", [3, 4], undefined, ["N", 4])],
    );
    await expectClose(
      (g, m) => weightedSum(g, g.reduceMean(t(m, "x"), [0], true), [1, 4]),
      [input("x", [3, 4], undefined, ["N", 4])],
    );
    await expectClose(
      (g, m) => weightedSum(g, g.reduceMean(t(m, "x"), [-1], false), [3]),
      [input("x", [3, 4])],
    );
    await expectClose((g, m) => weightedSum(g, g.transpose(t(m, "x"), [1, 0]), [4, 3]), [input("x", [3, 4])]);
    await expectClose(
      (g, m) => weightedSum(g, g.reshape(t(m, "x"), [2, 6], [2, 6]), [2, 6]),
      [input("x", [3, 4])],
    );
  });

  it("losses: softmax cross-entropy (int32 labels), binary cross-entropy, MSE, LayerNorm", async () => {
    const labels = Int32Array.from([0, 2, 1, 2]);
    await expectClose(
      (g, m) => g.softmaxCrossEntropy(t(m, "z"), t(m, "y")),
      [
        input("z", [4, 3], undefined, ["N", 3]),
        { name: "y", shape: ["N"], dims: [4], values: labels, differentiate: false },
      ],
    );
    await expectClose(
      (g, m) => g.sigmoidBinaryCrossEntropy(t(m, "z"), t(m, "y")),
      [input("z", [4, 1]), { ...input("y", [4, 1], Float32Array.from([0, 1, 1, 0])), differentiate: false }],
    );
    await expectClose(
      (g, m) => g.meanSquaredError(t(m, "a"), t(m, "b")),
      [input("a", [3, 2]), input("b", [3, 2])],
    );
    await expectClose(
      (g, m) => weightedSum(g, g.layerNorm(t(m, "x"), t(m, "s"), t(m, "b")), [3, 5]),
      [input("x", [3, 5]), input("s", [5]), input("b", [5])],
    );
  });

  it("a two-layer MLP with a shared weight used twice (symbolic batch dim)", async () => {
    await expectClose(
      (g, m) => {
        const h = g.tanh(g.gemm(t(m, "x"), t(m, "w1"), t(m, "b1"), { transB: true }));
        const h2 = g.add(h, g.relu(g.gemm(h, t(m, "w2"), undefined, { transB: true })));
        const z = g.gemm(h2, t(m, "w3"), undefined, { transB: true });
        return g.softmaxCrossEntropy(z, t(m, "y"));
      },
      [
        input("x", [5, 3], undefined, ["N", 3]),
        input("w1", [4, 3]),
        input("b1", [4]),
        input("w2", [4, 4]),
        input("w3", [2, 4]),
        {
          name: "y",
          shape: ["N"],
          dims: [5],
          values: Int32Array.from([0, 1, 1, 0, 1]),
          differentiate: false,
        },
      ],
    );
  });
});

describe("stopGradient", () => {
  it("blocks the gradient through its branch only", async () => {
    const x = Float32Array.from([0.5, -1.25, 2]);
    const result = await gradCheck(
      (g, m) => {
        const xv = t(m, "x");
        const y = g.mul(xv, g.stopGradient(xv));
        return g.reduceSum(y, [0], false);
      },
      [{ name: "x", shape: [3], dims: [3], values: x, differentiate: true }],
    );
    const c = result.get("x");
    // d/dx sum(x · sg(x)) = sg(x) = x, while finite differences see 2x.
    expect(Array.from(c?.analytic ?? [])).toEqual(Array.from(x));
    expect(Array.from(c?.numeric ?? []).map((v) => Math.round(v * 100) / 100)).toEqual([1, -2.5, 4]);
  });

  it("makes a tensor reached only through it an error", async () => {
    await expect(
      gradCheck(
        (g, m) => g.reduceSum(g.stopGradient(t(m, "x")), [0], false),
        [{ name: "x", shape: [2], dims: [2], values: Float32Array.from([1, 2]), differentiate: true }],
      ),
    ).rejects.toThrow(/does not depend on any requested tensor/);
  });
});
