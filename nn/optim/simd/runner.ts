/**
 * Runs the optimizer kernels: owns one WebAssembly linear memory used as scratch space, copies a
 * call's arrays into it (each region 16-byte aligned), runs the kernel, and copies the arrays the
 * kernel writes back out. The caller's Float32Arrays stay the only home of parameters and state.
 */
import { type KernelSpec, writtenArrays } from "./kernel-compiler.ts";
import {
  ADAMW_KERNEL,
  KERNEL_MEMORY_IMPORT,
  OPTIMIZER_KERNELS,
  optimizerKernelModuleBytes,
  SGD_KERNEL,
  SGD_MOMENTUM_FIRST_KERNEL,
  SGD_MOMENTUM_KERNEL,
  SGD_NESTEROV_FIRST_KERNEL,
  SGD_NESTEROV_KERNEL,
} from "./kernels.ts";
import { runtimeWasm, WASM_PAGE_BYTES, type WasmApi, type WasmMemory } from "./wasm-api.ts";

type KernelFunction = (...args: number[]) => void;

/** A kernel of an instantiated module: its export and which of its arrays it writes. */
interface BoundKernel {
  readonly fn: KernelFunction;
  readonly written: readonly boolean[];
}

/**
 * Compiles the kernel module; throws when the runtime rejects it, which for a runtime with
 * WebAssembly means it lacks the fixed-width SIMD (f32x4) instructions.
 */
export function compileKernelModule(bytes: Uint8Array, api: WasmApi = runtimeWasm()): object {
  if (!api.validate(bytes)) {
    throw new Error(
      "the optimizers need WebAssembly SIMD (f32x4), but this runtime rejects the kernel module (Node >= 16.4 has it)",
    );
  }
  return new api.Module(bytes);
}

let compiled: object | undefined;

function kernelModule(): object {
  compiled ??= compileKernelModule(optimizerKernelModuleBytes());
  return compiled;
}

/** Step constants of one AdamW update, computed in float64 by the caller (see ADAMW_KERNEL). */
export interface AdamWStepConstants {
  readonly b1: number;
  readonly b2: number;
  readonly c1: number;
  readonly c2: number;
  readonly decayRate: number;
  readonly stepSize: number;
  readonly invBc2Sqrt: number;
  readonly eps: number;
}

/** One instance of the optimizer kernels with its own scratch memory. */
export class OptimizerKernels {
  private readonly memory: WasmMemory;
  private readonly kernels = new Map<KernelSpec, BoundKernel>();
  private heap: Float32Array;

  /** Throws when the runtime lacks WebAssembly SIMD. */
  constructor() {
    const api = runtimeWasm();
    const module = kernelModule();
    this.memory = new api.Memory({ initial: KERNEL_MEMORY_IMPORT.minPages });
    const instance = new api.Instance(module, {
      [KERNEL_MEMORY_IMPORT.module]: { [KERNEL_MEMORY_IMPORT.field]: this.memory },
    });
    const exports = instance.exports as Record<string, unknown>;
    for (const spec of OPTIMIZER_KERNELS) {
      const fn = exports[spec.name];
      if (typeof fn !== "function")
        throw new Error(`optimizer kernel "${spec.name}" is missing from the module`);
      const written = writtenArrays(spec);
      this.kernels.set(spec, {
        fn: fn as KernelFunction,
        written: spec.arrays.map((a) => written.includes(a)),
      });
    }
    this.heap = new Float32Array(this.memory.buffer);
  }

  /** Bytes of scratch memory currently reserved. */
  get scratchBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** One AdamW update of `p`, `m`, `v` in place from gradient `g`. */
  adamw(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, c: AdamWStepConstants): void {
    this.run(
      ADAMW_KERNEL,
      [p, g, m, v],
      [c.b1, c.b2, c.c1, c.c2, c.decayRate, c.stepSize, c.invBc2Sqrt, c.eps],
    );
  }

  /** p ← p − lr·(g + wd·p). */
  sgd(p: Float32Array, g: Float32Array, lr: number, wd: number): void {
    this.run(SGD_KERNEL, [p, g], [lr, wd]);
  }

  /** First momentum step: buf ← g + wd·p, then p ← p − lr·buf (Nesterov: p − lr·(1 + mu)·buf). */
  sgdMomentumFirst(
    p: Float32Array,
    g: Float32Array,
    buf: Float32Array,
    lr: number,
    wd: number,
    mu: number,
    nesterov: boolean,
  ): void {
    if (nesterov) this.run(SGD_NESTEROV_FIRST_KERNEL, [p, g, buf], [lr, wd, mu]);
    else this.run(SGD_MOMENTUM_FIRST_KERNEL, [p, g, buf], [lr, wd]);
  }

  /** Later momentum steps: buf ← mu·buf + keep·(g + wd·p), then p ← p − lr·buf (or Nesterov's form). */
  sgdMomentum(
    p: Float32Array,
    g: Float32Array,
    buf: Float32Array,
    lr: number,
    wd: number,
    mu: number,
    keep: number,
    nesterov: boolean,
  ): void {
    this.run(nesterov ? SGD_NESTEROV_KERNEL : SGD_MOMENTUM_KERNEL, [p, g, buf], [lr, wd, mu, keep]);
  }

  /** Copies `arrays` in, runs `spec`, copies the arrays it writes back out. */
  private run(spec: KernelSpec, arrays: readonly Float32Array[], scalars: readonly number[]): void {
    const kernel = this.kernels.get(spec);
    if (kernel === undefined) throw new Error(`optimizer kernel "${spec.name}" is not in the module`);
    const first = arrays[0];
    if (
      first === undefined ||
      arrays.length !== spec.arrays.length ||
      scalars.length !== spec.scalars.length
    ) {
      throw new Error(`optimizer kernel "${spec.name}" called with the wrong number of arguments`);
    }
    const n = first.length;
    arrays.forEach((a, k) => {
      if (a.length !== n) {
        throw new Error(
          `optimizer kernel "${spec.name}": array "${spec.arrays[k]}" has ${a.length} values, expected ${n}`,
        );
      }
    });
    if (n === 0) return;
    // Region stride in floats, a multiple of 4 so each region starts 16-byte aligned.
    const stride = Math.ceil(n / 4) * 4;
    this.reserve(stride * arrays.length * 4);
    const heap = this.heap;
    arrays.forEach((a, k) => {
      heap.set(a, k * stride);
    });
    kernel.fn(...arrays.map((_, k) => k * stride * 4), n, ...scalars);
    arrays.forEach((a, k) => {
      if (kernel.written[k] === true) a.set(heap.subarray(k * stride, k * stride + n));
    });
  }

  /** Grows the memory to at least `bytes` (views over the old buffer are detached, so renew them). */
  private reserve(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    const pages = Math.ceil((bytes - have) / WASM_PAGE_BYTES);
    try {
      this.memory.grow(pages);
    } catch (e) {
      throw new Error(
        `optimizer kernel scratch memory cannot grow to ${bytes} bytes: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    this.heap = new Float32Array(this.memory.buffer);
  }
}
