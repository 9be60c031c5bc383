import { parseArgs } from "node:util";
import { benchTrainStep } from "../../harness/bench/train-step.ts";

const HELP = `usage: esper bench train-step [--json] [--threads N] [--batch B] [--warmup W] [--iters K]
                               [--optimizer adamw|sgd] [--no-torch]
Times a training step (ORT forward+backward + WebAssembly SIMD optimizer update) of a 784-256-10 MLP and of the
same MLP with two grafted seeds; runs the PyTorch peer when /usr/bin/python3 has torch. Prints JSON.
The peer is valid only on an optimised BLAS: on the reference BLAS torch.valid is false, the reason says to
install libopenblas0-pthread, and no ratio_p50 (ours / torch, goal <= 0.9) is printed.`;

function intFlag(value: string | undefined, flag: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${flag} must be an integer >= ${min}, got '${value}'`);
  return n;
}

/** `esper bench train-step`: prints one JSON report of step timings. */
export async function run(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      json: { type: "boolean" },
      threads: { type: "string" },
      batch: { type: "string" },
      warmup: { type: "string" },
      iters: { type: "string" },
      optimizer: { type: "string" },
      "no-torch": { type: "boolean" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const optimizer = values.optimizer ?? "adamw";
  if (optimizer !== "adamw" && optimizer !== "sgd")
    throw new Error(`--optimizer must be adamw or sgd, got '${optimizer}'`);
  const report = await benchTrainStep({
    threads: intFlag(values.threads, "threads", 1, 1),
    batch: intFlag(values.batch, "batch", 128, 1),
    warmup: intFlag(values.warmup, "warmup", 20, 0),
    iters: intFlag(values.iters, "iters", 200, 1),
    optimizer,
    torch: values["no-torch"] !== true,
  });
  process.stdout.write(`${JSON.stringify(report)}\n`);
  return 0;
}
