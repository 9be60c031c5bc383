/**
 * The WebAssembly opcodes, value types and section ids the optimizer kernels use, named as in the
 * core specification (§5.3–5.5) and the fixed-width SIMD proposal's BinarySIMD.md. SIMD
 * instructions are the prefix byte 0xFD followed by the SIMD opcode as an unsigned LEB128 u32,
 * so opcodes ≥ 0x80 take two bytes (see `simd` in wasm-encoding.ts).
 */
/** Section ids. */
export const SECTION = Object.freeze({
  type: 1,
  import: 2,
  function: 3,
  export: 7,
  code: 10,
});

/** Value types and the function type tag. */
export const TYPE = Object.freeze({
  i32: 0x7f,
  f32: 0x7d,
  v128: 0x7b,
  func: 0x60,
  /** Block type of a block or loop that yields no value. */
  emptyBlock: 0x40,
});

/** Single-byte core opcodes. */
export const OP = Object.freeze({
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  local_get: 0x20,
  local_set: 0x21,
  f32_load: 0x2a,
  f32_store: 0x38,
  i32_const: 0x41,
  i32_ge_u: 0x4f,
  i32_add: 0x6a,
  i32_and: 0x71,
  i32_shl: 0x74,
  f32_sqrt: 0x91,
  f32_add: 0x92,
  f32_sub: 0x93,
  f32_mul: 0x94,
  f32_div: 0x95,
});

/** The 0xFD prefix of every SIMD instruction. */
export const SIMD_PREFIX = 0xfd;

/** SIMD opcodes (the number after the 0xFD prefix). */
export const SIMD = Object.freeze({
  v128_load: 0x00,
  v128_store: 0x0b,
  f32x4_splat: 0x13,
  f32x4_sqrt: 0xe3,
  f32x4_add: 0xe4,
  f32x4_sub: 0xe5,
  f32x4_mul: 0xe6,
  f32x4_div: 0xe7,
});
