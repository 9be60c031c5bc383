/**
 * Runs the optimizer kernels over one WebAssembly linear memory (a KernelMemory). A kernel's array
 * argument is either a region of that memory, used in place (the optimizers keep their state there
 * for good), or a Float32Array, copied into scratch regions before the kernel and, when the kernel
 * writes it, back out after (parameters and gradients, which live outside).
 */
import { type KernelSpec, writtenArrays } from "./kernel-compiler.ts";
import { KernelMemory, MemoryRegion } from "./kernel-memory.ts";
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
import { runtimeWasm, type WasmApi } from "./wasm-api.ts";

type KernelFunction = (...args: number[]) => void;

/** A kernel argument: a region of the kernels' memory (used in place) or an array (copied). */
export type KernelArray = Float32Array | MemoryRegion;

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

/** One instance of the optimizer kernels with its own memory. */
export class OptimizerKernels {
  /** The kernels' memory: allocate state regions here to have the kernels use them in place. */
  readonly memory: KernelMemory;
  private readonly kernels = new Map<KernelSpec, BoundKernel>();
  /** Where copied Float32Array arguments go; replaced by a larger one when a call needs it. */
  private scratch: MemoryRegion | undefined;

  /** Throws when the runtime lacks WebAssembly SIMD. */
  constructor() {
    const api = runtimeWasm();
    const module = kernelModule();
    const memory = new api.Memory({ initial: KERNEL_MEMORY_IMPORT.minPages });
    const instance = new api.Instance(module, {
      [KERNEL_MEMORY_IMPORT.module]: { [KERNEL_MEMORY_IMPORT.field]: memory },
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
    this.memory = new KernelMemory(memory);
  }

  /** Bytes of scratch space currently held for copied arguments. */
  get scratchBytes(): number {
    return this.scratch?.byteSize ?? 0;
  }

  /** One AdamW update of `p`, `m`, `v` in place from gradient `g`. */
  adamw(p: KernelArray, g: KernelArray, m: KernelArray, v: KernelArray, c: AdamWStepConstants): void {
    this.run(
      ADAMW_KERNEL,
      [p, g, m, v],
      [c.b1, c.b2, c.c1, c.c2, c.decayRate, c.stepSize, c.invBc2Sqrt, c.eps],
    );
  }

  /** p ← p − lr·(g + wd·p). */
  sgd(p: KernelArray, g: KernelArray, lr: number, wd: number): void {
    this.run(SGD_KERNEL, [p, g], [lr, wd]);
  }

  /** First momentum step: buf ← g + wd·p, then p ← p − lr·buf (Nesterov: p − lr·(1 + mu)·buf). */
  sgdMomentumFirst(
    p: KernelArray,
    g: KernelArray,
    buf: KernelArray,
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
    p: KernelArray,
    g: KernelArray,
    buf: KernelArray,
    lr: number,
    wd: number,
    mu: number,
    keep: number,
    nesterov: boolean,
  ): void {
    this.run(nesterov ? SGD_NESTEROV_KERNEL : SGD_MOMENTUM_KERNEL, [p, g, buf], [lr, wd, mu, keep]);
  }

  /** Copies the Float32Array arguments in, runs `spec`, copies the ones it writes back out. */
  private run(spec: KernelSpec, arrays: readonly KernelArray[], scalars: readonly number[]): void {
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
    let copied = 0;
    arrays.forEach((a, k) => {
      if (a.length !== n) {
        throw new Error(
          `optimizer kernel "${spec.name}": array "${spec.arrays[k]}" has ${a.length} values, expected ${n}`,
        );
      }
      if (a instanceof MemoryRegion) {
        if (a.owner !== this.memory || !a.live) {
          throw new Error(
            `optimizer kernel "${spec.name}": array "${spec.arrays[k]}" is a region that is released or not in this kernels' memory`,
          );
        }
      } else copied++;
    });
    if (n === 0) return;
    // Scratch slot stride in floats, a multiple of 4 so each slot starts 16-byte aligned.
    const stride = Math.ceil(n / 4) * 4;
    const scratch = this.scratchFor(stride * copied);
    const offsets: number[] = [];
    const heap = this.memory.buffer();
    let slot = scratch.byteOffset / 4;
    for (const a of arrays) {
      if (a instanceof MemoryRegion) offsets.push(a.byteOffset);
      else {
        heap.set(a, slot);
        offsets.push(slot * 4);
        slot += stride;
      }
    }
    kernel.fn(...offsets, n, ...scalars);
    arrays.forEach((a, k) => {
      if (kernel.written[k] === true && !(a instanceof MemoryRegion)) {
        const at = (offsets[k] as number) / 4;
        a.set(heap.subarray(at, at + n));
      }
    });
  }

  /** The scratch region, replaced by one of at least `floats` when it is smaller. */
  private scratchFor(floats: number): MemoryRegion {
    const have = this.scratch;
    if (have !== undefined && have.length >= floats) return have;
    if (have !== undefined) this.memory.release(have);
    this.scratch = this.memory.allocate(floats);
    return this.scratch;
  }
}
