import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as ort from "onnxruntime-node";
import { buildBlueprint } from "../../nn/blueprints/artifact.ts";
import { graftSeed } from "../../nn/model/graft.ts";
import { ModelRunner, type StepInputs } from "../../nn/model/runner.ts";
import { layoutOf, type ModelSpec } from "../../nn/model/spec.ts";
import { AdamW } from "../../nn/optim/adamw.ts";
import type { Optimizer } from "../../nn/optim/optimizer.ts";
import { Sgd } from "../../nn/optim/sgd.ts";
import { ParameterStore } from "../../nn/params/store.ts";
import { createRng } from "../../nn/rng.ts";
import { percentile, round } from "./stats.ts";
import { type BlasKind, classifyTorchBlas } from "./torch-blas.ts";

const execFileAsync = promisify(execFile);

/** Options of the train-step benchmark. */
export interface TrainStepBenchOptions {
  /** ORT intra-op threads, and torch's thread count for the peer. */
  readonly threads: number;
  readonly batch: number;
  readonly warmup: number;
  readonly iters: number;
  readonly optimizer: "adamw" | "sgd";
  /** Run the PyTorch peer when /usr/bin/python3 can import torch. */
  readonly torch: boolean;
}

/** Timings of one model. */
export interface ModelTimings {
  readonly params: number;
  /** Whole step: ORT forward+backward plus the optimizer update (WebAssembly SIMD kernels). */
  readonly p50_ms: number;
  readonly p95_ms: number;
  /** ORT session run alone. */
  readonly ort_p50_ms: number;
  /** Optimizer update alone. */
  readonly optimizer_p50_ms: number;
  readonly torch?: { readonly p50_ms: number; readonly p95_ms: number; readonly params: number };
  /** Our p50 divided by torch's p50 (goal ≤ 0.9); only when the peer is valid (`torch.valid`). */
  readonly ratio_p50?: number;
}

/** The benchmark's JSON report. */
export interface TrainStepBenchReport {
  readonly bench: "train-step";
  readonly intra_op_threads: number;
  readonly batch: number;
  readonly warmup: number;
  readonly iters: number;
  readonly optimizer: string;
  readonly onnxruntime_version: string;
  readonly torch: {
    readonly available: boolean;
    readonly version?: string;
    readonly threads?: number;
    /** BLAS libraries torch had mapped (the reference netlib BLAS makes torch several times slower). */
    readonly blas?: readonly string[];
    /** The BLAS family (`torch-blas.ts`); the peer is valid only on an optimised one. */
    readonly blas_kind?: BlasKind;
    /** Whether torch's timings are a valid peer: false on the reference BLAS (no ratio is printed then). */
    readonly valid?: boolean;
    readonly reason?: string;
  };
  readonly models: { readonly mlp: ModelTimings; readonly seeded: ModelTimings };
}

const TORCH_PEER = fileURLToPath(new URL("./train-step-torch.py", import.meta.url));
const PYTHON = "/usr/bin/python3";

/** The 784-256-10 ReLU MLP, optionally with two slots after the hidden layer. */
function mlpSpec(slots: boolean): ModelSpec {
  return {
    inputWidth: 784,
    layers: [
      { kind: "linear", name: "l1", out: 256 },
      { kind: "activation", fn: "relu" },
      ...(slots
        ? ([
            { kind: "slot", slotId: "s1" },
            { kind: "slot", slotId: "s2" },
          ] as const)
        : []),
      { kind: "linear", name: "l2", out: 10 },
    ],
    loss: "softmaxCrossEntropy",
  };
}

/** Median of ascending-sorted samples (mean of the two middle ones, as Python's statistics.median). */
function median(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) throw new Error("median of no samples");
  return ((sorted[Math.floor((n - 1) / 2)] as number) + (sorted[Math.floor(n / 2)] as number)) / 2;
}

const round4 = (v: number): number => round(v, 4);

async function timeModel(seeded: boolean, o: TrainStepBenchOptions): Promise<ModelTimings> {
  const spec = mlpSpec(seeded);
  const rng = createRng(0);
  const store = new ParameterStore(rng.fork("init"));
  for (const p of layoutOf(spec).params) store.add(p.name, p.shape, p.init);
  const runner = new ModelRunner(spec, store, { intraOpNumThreads: o.threads });
  const alphas = new Map<string, number>();
  if (seeded) {
    for (const [slot, initSeed] of [
      ["s1", 1],
      ["s2", 2],
    ] as const) {
      const bp = buildBlueprint(
        { kind: "bottleneck-adapter", inputWidth: 256, hiddenWidth: 32, initSeed },
        0,
      );
      const seed = graftSeed(store, `seed-${slot}`, bp.bytes, bp.descriptor.artifactSha256);
      runner.setWiring(slot, { kind: "blend", seed, mode: "residual" });
      alphas.set(slot, 0.5);
    }
  }
  const optimizer: Optimizer<object> =
    o.optimizer === "adamw"
      ? new AdamW(store, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 })
      : new Sgd(store, { lr: 0.01, momentum: 0.9 });
  optimizer.addGroup("all", store.names());
  const x = new Float32Array(o.batch * 784);
  rng.fork("x").fillUniform(x, 0, 1);
  const yRng = rng.fork("y");
  const y = Int32Array.from({ length: o.batch }, () => yRng.int(10));
  const inputs: StepInputs = { x, target: y, batchSize: o.batch, alphas };
  await runner.prepare();
  const total: number[] = [];
  const run: number[] = [];
  const opt: number[] = [];
  for (let i = 0; i < o.warmup + o.iters; i++) {
    const t0 = performance.now();
    const r = await runner.trainStep(inputs);
    const t1 = performance.now();
    optimizer.step(r.grads);
    const t2 = performance.now();
    if (i >= o.warmup) {
      total.push(t2 - t0);
      run.push(t1 - t0);
      opt.push(t2 - t1);
    }
  }
  await runner.release();
  for (const a of [total, run, opt]) a.sort((p, q) => p - q);
  return {
    params: store.size,
    p50_ms: round4(median(total)),
    p95_ms: round4(percentile(total, 95)),
    ort_p50_ms: round4(median(run)),
    optimizer_p50_ms: round4(median(opt)),
  };
}

async function torchAvailable(): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    await execFileAsync(PYTHON, ["-c", "import torch"]);
    return { ok: true };
  } catch (err) {
    return {
      ok: false,
      reason: `${PYTHON} cannot import torch (install python3-torch): ${(err as Error).message.split("\n")[0]}`,
    };
  }
}

interface TorchResult {
  readonly torch_version: string;
  readonly blas: readonly string[];
  readonly config_blas: string;
  readonly threads: number;
  readonly params: number;
  readonly p50_ms: number;
  readonly p95_ms: number;
}

async function runTorch(model: "mlp" | "seeded", o: TrainStepBenchOptions): Promise<TorchResult> {
  const args = [
    TORCH_PEER,
    "--threads",
    String(o.threads),
    "--batch",
    String(o.batch),
    "--warmup",
    String(o.warmup),
    "--iters",
    String(o.iters),
    "--model",
    model,
    "--optimizer",
    o.optimizer,
  ];
  const { stdout } = await execFileAsync(PYTHON, args, { maxBuffer: 1 << 20 });
  const r = JSON.parse(stdout) as Partial<TorchResult>;
  if (
    typeof r.p50_ms !== "number" ||
    typeof r.p95_ms !== "number" ||
    typeof r.params !== "number" ||
    typeof r.threads !== "number" ||
    typeof r.torch_version !== "string" ||
    typeof r.config_blas !== "string" ||
    !Array.isArray(r.blas) ||
    !r.blas.every((b) => typeof b === "string")
  ) {
    throw new Error(`train-step-torch.py printed an unexpected report: ${stdout.trim()}`);
  }
  return r as TorchResult;
}

/**
 * Times one training step (forward + backward in ORT, then the optimizer update in WebAssembly SIMD) of the
 * 784-256-10 MLP and of the same MLP with two grafted bottleneck seeds blended at α = 0.5, and, when
 * torch is importable, the same models in PyTorch with the same thread count (run one after another).
 * The peer counts only on an optimised BLAS: on the reference BLAS the report says so, how to install
 * OpenBLAS, and prints no ratio.
 */
export async function benchTrainStep(o: TrainStepBenchOptions): Promise<TrainStepBenchReport> {
  const mlp = await timeModel(false, o);
  const seeded = await timeModel(true, o);
  const availability = o.torch
    ? await torchAvailable()
    : { ok: false as const, reason: "disabled by --no-torch" };
  const common = {
    bench: "train-step",
    intra_op_threads: o.threads,
    batch: o.batch,
    warmup: o.warmup,
    iters: o.iters,
    optimizer: o.optimizer,
    onnxruntime_version: ort.env.versions.common,
  } as const;
  if (!availability.ok) {
    return { ...common, torch: { available: false, reason: availability.reason }, models: { mlp, seeded } };
  }
  const tMlp = await runTorch("mlp", o);
  const tSeeded = await runTorch("seeded", o);
  const verdict = classifyTorchBlas(tMlp.blas, tMlp.config_blas);
  const withTorch = (m: ModelTimings, t: TorchResult): ModelTimings => ({
    ...m,
    torch: { p50_ms: t.p50_ms, p95_ms: t.p95_ms, params: t.params },
    ...(verdict.valid ? { ratio_p50: round4(m.p50_ms / t.p50_ms) } : {}),
  });
  return {
    ...common,
    torch: {
      available: true,
      version: tMlp.torch_version,
      threads: tMlp.threads,
      blas: tMlp.blas,
      blas_kind: verdict.kind,
      valid: verdict.valid,
      ...(verdict.reason === undefined ? {} : { reason: verdict.reason }),
    },
    models: { mlp: withTorch(mlp, tMlp), seeded: withTorch(seeded, tSeeded) },
  };
}
