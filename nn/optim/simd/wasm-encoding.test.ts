import { describe, expect, it } from "vitest";
import { OP, SIMD, TYPE } from "./opcodes.ts";
import { runtimeWasm } from "./wasm-api.ts";
import { assembleModule, memarg, name, s32, simd, u32, vec } from "./wasm-encoding.ts";

describe("LEB128", () => {
  it("encodes unsigned values", () => {
    expect(u32(0)).toEqual([0x00]);
    expect(u32(127)).toEqual([0x7f]);
    expect(u32(128)).toEqual([0x80, 0x01]);
    expect(u32(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(u32(0xffff_ffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(() => u32(-1)).toThrow("u32 must be an integer in [0, 2^32), got -1");
    expect(() => u32(1.5)).toThrow("u32 must be an integer");
  });

  it("encodes signed values", () => {
    expect(s32(0)).toEqual([0x00]);
    expect(s32(2)).toEqual([0x02]);
    expect(s32(63)).toEqual([0x3f]);
    expect(s32(64)).toEqual([0xc0, 0x00]);
    expect(s32(-1)).toEqual([0x7f]);
    expect(s32(-16)).toEqual([0x70]);
    expect(s32(-65)).toEqual([0xbf, 0x7f]);
    expect(s32(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(s32(-0x8000_0000)).toEqual([0x80, 0x80, 0x80, 0x80, 0x78]);
    expect(() => s32(0x8000_0000)).toThrow("s32 must be an integer in [-2^31, 2^31)");
  });
});

describe("instruction and module encoding", () => {
  it("prefixes SIMD opcodes with 0xFD and encodes them as LEB128", () => {
    expect(simd(SIMD.v128_load)).toEqual([0xfd, 0x00]);
    expect(simd(SIMD.f32x4_splat)).toEqual([0xfd, 0x13]);
    expect(simd(SIMD.f32x4_sqrt)).toEqual([0xfd, 0xe3, 0x01]);
    expect(simd(SIMD.f32x4_div)).toEqual([0xfd, 0xe7, 0x01]);
    expect(memarg(4)).toEqual([0x04, 0x00]);
  });

  it("encodes names and vectors with their lengths", () => {
    expect(name("env")).toEqual([3, 0x65, 0x6e, 0x76]);
    expect(vec([[1, 2], [3]])).toEqual([2, 1, 2, 3]);
  });

  it("assembles a module that validates and runs", () => {
    // f(ptr: i32, x: f32): memory[ptr] = sqrt(x) / x
    const bytes = assembleModule({ module: "env", field: "memory", minPages: 1 }, [
      {
        exportName: "f",
        params: [TYPE.i32, TYPE.f32],
        locals: [],
        code: [
          OP.local_get,
          0,
          OP.local_get,
          1,
          OP.f32_sqrt,
          OP.local_get,
          1,
          OP.f32_div,
          OP.f32_store,
          ...memarg(2),
        ],
      },
    ]);
    const wasm = runtimeWasm();
    expect(wasm.validate(bytes)).toBe(true);
    const memory = new wasm.Memory({ initial: 1 });
    const instance = new wasm.Instance(new wasm.Module(bytes), { env: { memory } });
    const f = (instance.exports as { f: (ptr: number, x: number) => void }).f;
    f(8, 4);
    expect(new Float32Array(memory.buffer, 8, 1)[0]).toBe(0.5);
  });
});
