/**
 * A tiny element-wise kernel language compiled to WebAssembly. A kernel is a list of statements
 * over one element index: load array elements, read f32 scalar arguments, combine them with
 * + − × ÷ √, name intermediate values, store results. The compiler emits the same statements twice:
 * a SIMD loop over 4 float32 lanes (f32x4) for the first ⌊n/4⌋·4 elements, then a scalar float32
 * loop for the remaining 0–3.
 *
 * Compiled signature: `(array pointers as i32 byte offsets..., n: i32, scalars: f32...)`.
 */
import { OP, SIMD, TYPE } from "./opcodes.ts";
import { type FunctionDef, memarg, s32, simd, u32 } from "./wasm-encoding.ts";

/** An expression over one element (or four lanes). */
export type Expr =
  | { readonly kind: "load"; readonly array: string }
  | { readonly kind: "scalar"; readonly name: string }
  | { readonly kind: "temp"; readonly name: string }
  | { readonly kind: "sqrt"; readonly a: Expr }
  | { readonly kind: "add" | "sub" | "mul" | "div"; readonly a: Expr; readonly b: Expr };

/** A statement: bind a named intermediate value, or store a value into an array element. */
export type Stmt =
  | { readonly kind: "let"; readonly name: string; readonly value: Expr }
  | { readonly kind: "store"; readonly array: string; readonly value: Expr };

/** An element-wise kernel: its export name, array and scalar parameters, and body. */
export interface KernelSpec {
  readonly name: string;
  readonly arrays: readonly string[];
  readonly scalars: readonly string[];
  readonly body: readonly Stmt[];
}

/** `array[i]`. */
export const load = (array: string): Expr => ({ kind: "load", array });
/** The scalar argument `name` (broadcast to all lanes). */
export const scalar = (name: string): Expr => ({ kind: "scalar", name });
/** The value bound by `assign(name, …)`. */
export const temp = (name: string): Expr => ({ kind: "temp", name });
/** a + b. */
export const add = (a: Expr, b: Expr): Expr => ({ kind: "add", a, b });
/** a − b. */
export const sub = (a: Expr, b: Expr): Expr => ({ kind: "sub", a, b });
/** a · b. */
export const mul = (a: Expr, b: Expr): Expr => ({ kind: "mul", a, b });
/** a / b. */
export const div = (a: Expr, b: Expr): Expr => ({ kind: "div", a, b });
/** √a. */
export const sqrt = (a: Expr): Expr => ({ kind: "sqrt", a });
/** Binds `value` to `name` for later statements. */
export const assign = (name: string, value: Expr): Stmt => ({ kind: "let", name, value });
/** `array[i] = value`. */
export const store = (array: string, value: Expr): Stmt => ({ kind: "store", array, value });

/** The arrays a kernel writes (those appearing in a `store`), in parameter order. */
export function writtenArrays(spec: KernelSpec): string[] {
  return spec.arrays.filter((a) => spec.body.some((s) => s.kind === "store" && s.array === a));
}

/** Loop flavour: four lanes at a time, or one element at a time. */
type Mode = "simd" | "scalar";

/** Local variable indices of a compiled kernel. */
interface Layout {
  readonly array: ReadonlyMap<string, number>;
  readonly n: number;
  readonly scalar: ReadonlyMap<string, number>;
  /** Byte offset of the current element (same for every array). */
  readonly offset: number;
  /** n·4: the byte offset where the scalar loop stops. */
  readonly end: number;
  /** (n·4) rounded down to a multiple of 16: the byte offset where the SIMD loop stops. */
  readonly vecEnd: number;
  /** A v128 local holding each scalar splatted to 4 lanes. */
  readonly splat: ReadonlyMap<string, number>;
  readonly tempSimd: ReadonlyMap<string, number>;
  readonly tempScalar: ReadonlyMap<string, number>;
}

function indexMap(names: readonly string[], first: number): Map<string, number> {
  return new Map(names.map((n, i) => [n, first + i]));
}

function checkSpec(spec: KernelSpec): string[] {
  const all = [...spec.arrays, ...spec.scalars];
  if (new Set(all).size !== all.length) throw new Error(`kernel "${spec.name}": duplicate parameter name`);
  const temps: string[] = [];
  const check = (e: Expr): void => {
    switch (e.kind) {
      case "load":
        if (!spec.arrays.includes(e.array)) {
          throw new Error(`kernel "${spec.name}": load of unknown array "${e.array}"`);
        }
        return;
      case "scalar":
        if (!spec.scalars.includes(e.name)) {
          throw new Error(`kernel "${spec.name}": unknown scalar "${e.name}"`);
        }
        return;
      case "temp":
        if (!temps.includes(e.name)) throw new Error(`kernel "${spec.name}": "${e.name}" used before assign`);
        return;
      case "sqrt":
        check(e.a);
        return;
      default:
        check(e.a);
        check(e.b);
    }
  };
  for (const s of spec.body) {
    check(s.value);
    if (s.kind === "let") {
      if (temps.includes(s.name)) throw new Error(`kernel "${spec.name}": "${s.name}" assigned twice`);
      temps.push(s.name);
    } else if (!spec.arrays.includes(s.array)) {
      throw new Error(`kernel "${spec.name}": store to unknown array "${s.array}"`);
    }
  }
  return temps;
}

function layout(spec: KernelSpec, temps: readonly string[]): Layout {
  const a = spec.arrays.length;
  const s = spec.scalars.length;
  const params = a + 1 + s;
  return {
    array: indexMap(spec.arrays, 0),
    n: a,
    scalar: indexMap(spec.scalars, a + 1),
    offset: params,
    end: params + 1,
    vecEnd: params + 2,
    splat: indexMap(spec.scalars, params + 3),
    tempSimd: indexMap(temps, params + 3 + s),
    tempScalar: indexMap(temps, params + 3 + s + temps.length),
  };
}

function local(map: ReadonlyMap<string, number>, key: string): number {
  const i = map.get(key);
  if (i === undefined) throw new Error(`kernel compiler: no local for "${key}"`);
  return i;
}

const get = (i: number): number[] => [OP.local_get, ...u32(i)];
const set = (i: number): number[] => [OP.local_set, ...u32(i)];

/** Pushes the byte address of the current element of `array`: pointer + offset. */
function address(l: Layout, array: string): number[] {
  return [...get(local(l.array, array)), ...get(l.offset), OP.i32_add];
}

const BINARY: Readonly<Record<"add" | "sub" | "mul" | "div", Readonly<Record<Mode, readonly number[]>>>> = {
  add: { simd: simd(SIMD.f32x4_add), scalar: [OP.f32_add] },
  sub: { simd: simd(SIMD.f32x4_sub), scalar: [OP.f32_sub] },
  mul: { simd: simd(SIMD.f32x4_mul), scalar: [OP.f32_mul] },
  div: { simd: simd(SIMD.f32x4_div), scalar: [OP.f32_div] },
};

function expr(e: Expr, l: Layout, mode: Mode): number[] {
  switch (e.kind) {
    case "load":
      // v128.load with 16-byte alignment hint (log2 4), or f32.load with 4-byte hint (log2 2).
      return mode === "simd"
        ? [...address(l, e.array), ...simd(SIMD.v128_load), ...memarg(4)]
        : [...address(l, e.array), OP.f32_load, ...memarg(2)];
    case "scalar":
      return get(local(mode === "simd" ? l.splat : l.scalar, e.name));
    case "temp":
      return get(local(mode === "simd" ? l.tempSimd : l.tempScalar, e.name));
    case "sqrt":
      return [...expr(e.a, l, mode), ...(mode === "simd" ? simd(SIMD.f32x4_sqrt) : [OP.f32_sqrt])];
    default:
      return [...expr(e.a, l, mode), ...expr(e.b, l, mode), ...BINARY[e.kind][mode]];
  }
}

function stmt(s: Stmt, l: Layout, mode: Mode): number[] {
  if (s.kind === "let") {
    return [...expr(s.value, l, mode), ...set(local(mode === "simd" ? l.tempSimd : l.tempScalar, s.name))];
  }
  const storeOp = mode === "simd" ? [...simd(SIMD.v128_store), ...memarg(4)] : [OP.f32_store, ...memarg(2)];
  return [...address(l, s.array), ...expr(s.value, l, mode), ...storeOp];
}

/**
 * `block { loop { if offset >= limit break; body; offset += stride; continue } }`:
 * `br_if 1` leaves the outer block, `br 0` jumps back to the loop head.
 */
function loop(l: Layout, limit: number, stride: number, body: readonly number[]): number[] {
  return [
    OP.block,
    TYPE.emptyBlock,
    OP.loop,
    TYPE.emptyBlock,
    ...get(l.offset),
    ...get(limit),
    OP.i32_ge_u,
    OP.br_if,
    ...u32(1),
    ...body,
    ...get(l.offset),
    OP.i32_const,
    ...s32(stride),
    OP.i32_add,
    ...set(l.offset),
    OP.br,
    ...u32(0),
    OP.end,
    OP.end,
  ];
}

/** Compiles `spec` into a function: a 4-lane SIMD loop, then a scalar loop over the tail. */
export function compileKernel(spec: KernelSpec): FunctionDef {
  const temps = checkSpec(spec);
  const l = layout(spec, temps);
  const prologue = [
    // end = n << 2 (bytes); vecEnd = end & -16 (whole 16-byte vectors only).
    ...get(l.n),
    OP.i32_const,
    ...s32(2),
    OP.i32_shl,
    ...set(l.end),
    ...get(l.end),
    OP.i32_const,
    ...s32(-16),
    OP.i32_and,
    ...set(l.vecEnd),
    // Broadcast every scalar argument to a v128 once, outside the loop.
    ...spec.scalars.flatMap((name) => [
      ...get(local(l.scalar, name)),
      ...simd(SIMD.f32x4_splat),
      ...set(local(l.splat, name)),
    ]),
  ];
  const simdBody = spec.body.flatMap((s) => stmt(s, l, "simd"));
  const scalarBody = spec.body.flatMap((s) => stmt(s, l, "scalar"));
  return {
    exportName: spec.name,
    params: [...spec.arrays.map(() => TYPE.i32), TYPE.i32, ...spec.scalars.map(() => TYPE.f32)],
    locals: [
      { count: 3, type: TYPE.i32 },
      { count: spec.scalars.length + temps.length, type: TYPE.v128 },
      { count: temps.length, type: TYPE.f32 },
    ],
    code: [...prologue, ...loop(l, l.vecEnd, 16, simdBody), ...loop(l, l.end, 4, scalarBody)],
  };
}
