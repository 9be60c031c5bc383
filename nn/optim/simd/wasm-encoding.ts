/**
 * Byte-level encoding of a WebAssembly binary module (core spec §5): LEB128 integers, names,
 * vectors, sections, and a module assembler for the one shape the optimizer kernels need —
 * functions that import one linear memory and are all exported.
 */
import { OP, SECTION, SIMD_PREFIX, TYPE } from "./opcodes.ts";

/** Unsigned LEB128 encoding of a 32-bit integer (`u32` in the spec). */
export function u32(value: number): number[] {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new Error(`u32 must be an integer in [0, 2^32), got ${value}`);
  }
  const out: number[] = [];
  let v = value;
  do {
    const byte = v % 128;
    v = Math.floor(v / 128);
    out.push(v === 0 ? byte : byte | 0x80);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 encoding of a 32-bit integer (`i32` immediates, e.g. of `i32.const`). */
export function s32(value: number): number[] {
  if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0x7fff_ffff) {
    throw new Error(`s32 must be an integer in [-2^31, 2^31), got ${value}`);
  }
  const out: number[] = [];
  let v = value;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** A name: its UTF-8 byte length (u32) then the bytes. */
export function name(text: string): number[] {
  const bytes = new TextEncoder().encode(text);
  return [...u32(bytes.length), ...bytes];
}

/** The bytes of SIMD instruction `op`: the 0xFD prefix, then `op` as LEB128 (0xE4 → FD E4 01). */
export function simd(op: number): number[] {
  return [SIMD_PREFIX, ...u32(op)];
}

/** A memory immediate: alignment as log2 of bytes, then a constant byte offset. */
export function memarg(alignLog2: number, offset = 0): number[] {
  return [...u32(alignLog2), ...u32(offset)];
}

/** A vector: element count (u32) then the concatenated elements. */
export function vec(items: readonly (readonly number[])[]): number[] {
  return [...u32(items.length), ...items.flat()];
}

/** A section: id byte, content size (u32), content. */
export function section(id: number, content: readonly number[]): number[] {
  return [id, ...u32(content.length), ...content];
}

/** A run of locals of one value type, as declared at the start of a function body. */
export interface LocalRun {
  readonly count: number;
  readonly type: number;
}

/** One function of an assembled module: its signature, locals and instruction bytes. */
export interface FunctionDef {
  readonly exportName: string;
  readonly params: readonly number[];
  readonly locals: readonly LocalRun[];
  /** Instructions, without the final `end` (the assembler appends it). */
  readonly code: readonly number[];
}

/** Where the module imports its memory from, and the minimum size it declares. */
export interface MemoryImport {
  readonly module: string;
  readonly field: string;
  readonly minPages: number;
}

/**
 * Assembles a module: one function type per function (no results), the imported memory,
 * the functions, one export per function, and their bodies.
 */
export function assembleModule(memory: MemoryImport, functions: readonly FunctionDef[]): Uint8Array {
  const types = functions.map((f) => [TYPE.func, ...vec(f.params.map((t) => [t])), ...vec([])]);
  // Import kind 0x02 = memory; limits flag 0x00 = minimum only.
  const imports = [[...name(memory.module), ...name(memory.field), 0x02, 0x00, ...u32(memory.minPages)]];
  const functionTypes = functions.map((_, i) => u32(i));
  // Export kind 0x00 = function.
  const exports = functions.map((f, i) => [...name(f.exportName), 0x00, ...u32(i)]);
  const bodies = functions.map((f) => {
    const body = [...vec(f.locals.map((l) => [...u32(l.count), l.type])), ...f.code, OP.end];
    return [...u32(body.length), ...body];
  });
  return Uint8Array.from([
    // Magic "\0asm" and binary format version 1.
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(SECTION.type, vec(types)),
    ...section(SECTION.import, vec(imports)),
    ...section(SECTION.function, vec(functionTypes)),
    ...section(SECTION.export, vec(exports)),
    ...section(SECTION.code, vec(bodies)),
  ]);
}
