import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { benchTamiyo } from "../../harness/bench/tamiyo-bench.ts";
import { helpFooter, integer, jsonOption } from "../flags.ts";
import { recordedRuns } from "./policy-fit.ts";

const DEFAULT_RECORDING = fileURLToPath(
  new URL("../../harness/recordings/spirals-growth.esperrec", import.meta.url),
);

/** `esper bench tamiyo [--recording FILE] [--passes N] [--policy DIR] [--json]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Replays the state packets of a recording N times: Tamiyo's ONNX policy inference alone and its " +
        "decide (features, inference, decoding) in this process, then the whole tamiyo.evaluate round trip " +
        "over a private nats-server with Tamiyo in process. Prints one JSON report: p50/p95/p99 of each, " +
        "against the goals inference p95 <= 1 ms and round trip p95 <= 3 ms (budget 12 ms). Timings, not asserts.",
    )
    .option("--recording <file>", "the recording (default: harness/recordings/spirals-growth.esperrec)")
    .option("--passes <n>", "passes over the recording", integer(1), 5)
    .option("--policy <dir>", "Tamiyo's policy directory (default: the shipped one)")
    .addOption(jsonOption());
  helpFooter(cmd, {
    exitCodes: { 0: "measured", 1: "no tamiyo.evaluate requests in the recording", 2: "bad arguments" },
  });
}

/** `esper bench tamiyo`: policy inference and the evaluate round trip, timed; prints JSON. */
export async function action(cmd: Command): Promise<number> {
  const o = cmd.opts<{ recording?: string; passes: number; policy?: string }>();
  const recording = o.recording ?? DEFAULT_RECORDING;
  const passes = o.passes;
  const policyDir = o.policy;
  const [first] = await recordedRuns(recording);
  if (first === undefined) {
    process.stderr.write(`esper bench tamiyo: no tamiyo.evaluate requests in ${recording}\n`);
    return 1;
  }
  const report = await benchTamiyo({
    packets: first.packets,
    passes,
    ...(policyDir !== undefined ? { policyDir } : {}),
  });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return 0;
}
