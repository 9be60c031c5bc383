/**
 * The part of the WebAssembly JS API the optimizer kernels use. The project's TypeScript libs
 * (ES2023 + node) do not declare the `WebAssembly` global, so it is typed here.
 */

/** A WebAssembly.Memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  /** Grows by `pages` 64 KiB pages; detaches every view of the old buffer. */
  grow(pages: number): number;
}

/** The WebAssembly namespace object, reduced to what is used here. */
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: object };
  readonly Memory: new (descriptor: { initial: number }) => WasmMemory;
}

/** Bytes in one WebAssembly memory page. */
export const WASM_PAGE_BYTES = 65536;

/** The runtime's WebAssembly API; throws when the runtime has none. */
export function runtimeWasm(): WasmApi {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (api === undefined) {
    throw new Error("the optimizers need WebAssembly with SIMD, but this runtime has no WebAssembly");
  }
  return api;
}
