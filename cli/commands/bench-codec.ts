import { parseArgs } from "node:util";
import { runCodecBench } from "../../harness/bench/codec-bench.ts";

/** `esper bench codec [--iterations N] [--warmup N] [--json]`: prints the codec benchmark as JSON. */
export async function run(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      iterations: { type: "string", default: "20000" },
      warmup: { type: "string", default: "5000" },
      json: { type: "boolean", default: true },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write("esper bench codec [--iterations N] [--warmup N] [--json]\n");
    return 0;
  }
  const iterations = Number(values.iterations);
  const warmup = Number(values.warmup);
  if (!Number.isInteger(iterations) || iterations < 100)
    throw new Error("--iterations must be an integer >= 100");
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error("--warmup must be an integer >= 0");
  const result = runCodecBench({ iterations, warmup });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return result.withinBudgets ? 0 : 1;
}
