import type { Command } from "commander";
import { runCodecBench } from "../../harness/bench/codec-bench.ts";
import { helpFooter, integer, jsonOption } from "../flags.ts";

/** `esper bench codec [--iterations N] [--warmup N] [--json]`. */
export function define(cmd: Command): void {
  cmd
    .description("Encode/decode + validation timings of Leyline messages vs JSON; prints one JSON report.")
    .option("--iterations <n>", "timed iterations per message", integer(100), 20_000)
    .option("--warmup <n>", "untimed iterations first", integer(0), 5_000)
    .addOption(jsonOption());
  helpFooter(cmd, {
    exitCodes: { 0: "within the budgets", 1: "over a budget", 2: "bad arguments" },
  });
}

/** `esper bench codec`: prints the codec benchmark as JSON. */
export async function action(cmd: Command): Promise<number> {
  const { iterations, warmup } = cmd.opts<{ iterations: number; warmup: number }>();
  const result = runCodecBench({ iterations, warmup });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return result.withinBudgets ? 0 : 1;
}
