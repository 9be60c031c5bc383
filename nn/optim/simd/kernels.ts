/**
 * The optimizer update kernels (AdamW, SGD variants) in the element-wise kernel language, and the
 * WebAssembly module holding all of them. Every step constant that depends only on the learning
 * rate, hyperparameters and step count is computed by the caller in float64 and passed as an f32
 * scalar; the kernels compute per element in float32, as torch does for float32 parameters.
 */
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
} from "./kernel-compiler.ts";
import { assembleModule } from "./wasm-encoding.ts";

/**
 * AdamW: m ← b1·m + c1·g; v ← b2·v + c2·g·g; p ← (p − decayRate·p) − stepSize·m / (√v·invBc2Sqrt + eps),
 * with c1 = 1 − β1, c2 = 1 − β2, decayRate = lr·wd, stepSize = lr / (1 − β1^t), invBc2Sqrt = 1/√(1 − β2^t).
 */
export const ADAMW_KERNEL: KernelSpec = {
  name: "adamw",
  arrays: ["p", "g", "m", "v"],
  scalars: ["b1", "b2", "c1", "c2", "decayRate", "stepSize", "invBc2Sqrt", "eps"],
  body: [
    assign("g", load("g")),
    assign("m", add(mul(scalar("b1"), load("m")), mul(scalar("c1"), temp("g")))),
    assign("v", add(mul(scalar("b2"), load("v")), mul(mul(scalar("c2"), temp("g")), temp("g")))),
    store("m", temp("m")),
    store("v", temp("v")),
    assign("p", load("p")),
    store(
      "p",
      sub(
        sub(temp("p"), mul(scalar("decayRate"), temp("p"))),
        div(
          mul(scalar("stepSize"), temp("m")),
          add(mul(sqrt(temp("v")), scalar("invBc2Sqrt")), scalar("eps")),
        ),
      ),
    ),
  ],
};

/** The gradient with coupled weight decay, d = g + wd·p (bound as "d"; needs "p" bound first). */
const decayedGradient = [assign("p", load("p")), assign("d", add(load("g"), mul(scalar("wd"), temp("p"))))];

/** SGD without momentum: p ← p − lr·(g + wd·p). */
export const SGD_KERNEL: KernelSpec = {
  name: "sgd",
  arrays: ["p", "g"],
  scalars: ["lr", "wd"],
  body: [...decayedGradient, store("p", sub(temp("p"), mul(scalar("lr"), temp("d"))))],
};

/** SGD momentum, first step: buf ← d; p ← p − lr·d. */
export const SGD_MOMENTUM_FIRST_KERNEL: KernelSpec = {
  name: "sgdMomentumFirst",
  arrays: ["p", "g", "buf"],
  scalars: ["lr", "wd"],
  body: [
    ...decayedGradient,
    store("buf", temp("d")),
    store("p", sub(temp("p"), mul(scalar("lr"), temp("d")))),
  ],
};

/** SGD Nesterov, first step: buf ← d; p ← p − lr·(d + mu·d). */
export const SGD_NESTEROV_FIRST_KERNEL: KernelSpec = {
  name: "sgdNesterovFirst",
  arrays: ["p", "g", "buf"],
  scalars: ["lr", "wd", "mu"],
  body: [
    ...decayedGradient,
    store("buf", temp("d")),
    store("p", sub(temp("p"), mul(scalar("lr"), add(temp("d"), mul(scalar("mu"), temp("d")))))),
  ],
};

/** SGD momentum, later steps: buf ← mu·buf + keep·d; p ← p − lr·buf (keep = 1 − dampening). */
export const SGD_MOMENTUM_KERNEL: KernelSpec = {
  name: "sgdMomentum",
  arrays: ["p", "g", "buf"],
  scalars: ["lr", "wd", "mu", "keep"],
  body: [
    ...decayedGradient,
    assign("b", add(mul(scalar("mu"), load("buf")), mul(scalar("keep"), temp("d")))),
    store("buf", temp("b")),
    store("p", sub(temp("p"), mul(scalar("lr"), temp("b")))),
  ],
};

/** SGD Nesterov, later steps: buf ← mu·buf + keep·d; p ← p − lr·(d + mu·buf). */
export const SGD_NESTEROV_KERNEL: KernelSpec = {
  name: "sgdNesterov",
  arrays: ["p", "g", "buf"],
  scalars: ["lr", "wd", "mu", "keep"],
  body: [
    ...decayedGradient,
    assign("b", add(mul(scalar("mu"), load("buf")), mul(scalar("keep"), temp("d")))),
    store("buf", temp("b")),
    store("p", sub(temp("p"), mul(scalar("lr"), add(temp("d"), mul(scalar("mu"), temp("b")))))),
  ],
};

/** Every optimizer kernel, in export order. */
export const OPTIMIZER_KERNELS: readonly KernelSpec[] = [
  ADAMW_KERNEL,
  SGD_KERNEL,
  SGD_MOMENTUM_FIRST_KERNEL,
  SGD_NESTEROV_FIRST_KERNEL,
  SGD_MOMENTUM_KERNEL,
  SGD_NESTEROV_KERNEL,
];

/** Where the kernel module imports its linear memory from. */
export const KERNEL_MEMORY_IMPORT = Object.freeze({ module: "env", field: "memory", minPages: 1 });

/** The bytes of the WebAssembly module exporting every optimizer kernel under its name. */
export function optimizerKernelModuleBytes(): Uint8Array {
  return assembleModule(KERNEL_MEMORY_IMPORT, OPTIMIZER_KERNELS.map(compileKernel));
}
