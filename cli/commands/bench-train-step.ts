import { type Command, Option } from "commander";
import { benchTrainStep } from "../../harness/bench/train-step.ts";
import { helpFooter, integer, jsonOption } from "../flags.ts";

/** `esper bench train-step [--json] [--threads N] [--batch B] [--warmup W] [--iters K] [--optimizer adamw|sgd] [--no-torch]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Times a training step (ORT forward+backward + WebAssembly SIMD optimizer update) of a 784-256-10 MLP " +
        "and of the same MLP with two grafted seeds; runs the PyTorch peer when /usr/bin/python3 has torch. " +
        "Prints JSON. The peer is valid only on an optimised BLAS: on the reference BLAS torch.valid is false, " +
        "the reason says to install libopenblas0-pthread, and no ratio_p50 (ours / torch, goal <= 0.9) is printed.",
    )
    .addOption(jsonOption())
    .option("--threads <n>", "onnxruntime threads", integer(1), 1)
    .option("--batch <b>", "batch size", integer(1), 128)
    .option("--warmup <w>", "untimed steps first", integer(0), 20)
    .option("--iters <k>", "timed steps", integer(1), 200)
    .addOption(new Option("--optimizer <name>", "the optimizer").choices(["adamw", "sgd"]).default("adamw"))
    .option("--no-torch", "skip the PyTorch peer");
  helpFooter(cmd, { exitCodes: { 0: "measured", 2: "bad arguments" } });
}

/** `esper bench train-step`: prints one JSON report of step timings. */
export async function action(cmd: Command): Promise<number> {
  const o = cmd.opts<{
    threads: number;
    batch: number;
    warmup: number;
    iters: number;
    optimizer: "adamw" | "sgd";
    torch: boolean;
  }>();
  const report = await benchTrainStep({
    threads: o.threads,
    batch: o.batch,
    warmup: o.warmup,
    iters: o.iters,
    optimizer: o.optimizer,
    torch: o.torch,
  });
  process.stdout.write(`${JSON.stringify(report)}\n`);
  return 0;
}
