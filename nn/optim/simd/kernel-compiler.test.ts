import { describe, expect, it } from "vitest";
import {
  add,
  assign,
  compileKernel,
  div,
  type KernelSpec,
  load,
  mul,
  scalar,
  sqrt,
  store,
  sub,
  temp,
  writtenArrays,
} from "./kernel-compiler.ts";
import { runtimeWasm } from "./wasm-api.ts";
import { assembleModule } from "./wasm-encoding.ts";

/** y ← √x / (x + c) − x·c, x unchanged. */
const SPEC: KernelSpec = {
  name: "k",
  arrays: ["x", "y"],
  scalars: ["c"],
  body: [
    assign("x", load("x")),
    store("y", sub(div(sqrt(temp("x")), add(temp("x"), scalar("c"))), mul(temp("x"), scalar("c")))),
  ],
};

describe("kernel compiler", () => {
  it("gives SIMD lanes and the scalar tail the same float32 results, operation by operation", () => {
    const wasm = runtimeWasm();
    const bytes = assembleModule({ module: "env", field: "memory", minPages: 1 }, [compileKernel(SPEC)]);
    expect(wasm.validate(bytes)).toBe(true);
    const memory = new wasm.Memory({ initial: 1 });
    const instance = new wasm.Instance(new wasm.Module(bytes), { env: { memory } });
    const k = (instance.exports as { k: (x: number, y: number, n: number, c: number) => void }).k;
    const n = 11; // two 4-lane vectors and a tail of 3
    const heap = new Float32Array(memory.buffer);
    const x = Float32Array.from({ length: n }, (_, i) => 0.37 * (i + 1));
    heap.set(x, 0);
    heap.fill(-1, 16, 16 + n + 1);
    const c = Math.fround(0.3);
    k(0, 64, n, c);
    const f = Math.fround;
    const want = Array.from(x, (xi) => f(f(f(Math.sqrt(xi)) / f(xi + c)) - f(xi * c)));
    expect(Array.from(heap.subarray(16, 16 + n))).toEqual(want);
    expect(heap[16 + n]).toBe(-1);
    expect(heap.subarray(0, n)).toEqual(x);
  });

  it("lists the arrays a kernel stores into", () => {
    expect(writtenArrays(SPEC)).toEqual(["y"]);
  });

  it("rejects kernels that use unknown names or assign twice", () => {
    const base = { name: "bad", arrays: ["x"], scalars: ["c"] };
    expect(() => compileKernel({ ...base, body: [store("x", load("z"))] })).toThrow(
      'kernel "bad": load of unknown array "z"',
    );
    expect(() => compileKernel({ ...base, body: [store("z", load("x"))] })).toThrow(
      'kernel "bad": store to unknown array "z"',
    );
    expect(() => compileKernel({ ...base, body: [store("x", scalar("d"))] })).toThrow(
      'kernel "bad": unknown scalar "d"',
    );
    expect(() => compileKernel({ ...base, body: [store("x", temp("t"))] })).toThrow(
      'kernel "bad": "t" used before assign',
    );
    expect(() => compileKernel({ ...base, body: [assign("t", load("x")), assign("t", load("x"))] })).toThrow(
      'kernel "bad": "t" assigned twice',
    );
    expect(() => compileKernel({ ...base, scalars: ["x"], body: [] })).toThrow(
      'kernel "bad": duplicate parameter name',
    );
  });
});
