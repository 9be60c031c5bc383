import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { benchTamiyo } from "../../harness/bench/tamiyo-bench.ts";
import { recordedRuns } from "./policy-fit.ts";

const DEFAULT_RECORDING = fileURLToPath(
  new URL("../../harness/recordings/spirals-growth.esperrec", import.meta.url),
);

const HELP = `usage: esper bench tamiyo [--recording FILE] [--passes N] [--policy DIR] [--json]
Replays the state packets of a recording (default: harness/recordings/spirals-growth.esperrec) N times
(default 5): Tamiyo's ONNX policy inference alone and its decide (features, inference, decoding) in this
process, then the whole tamiyo.evaluate round trip over a private nats-server with Tamiyo in process
(policy DIR, default the shipped one). Prints one JSON report: p50/p95/p99 of each, against the goals
inference p95 <= 1 ms and round trip p95 <= 3 ms (budget 12 ms). Timings, not asserts: exit 0.`;

/** `esper bench tamiyo`: policy inference and the evaluate round trip, timed; prints JSON. */
export async function run(args: readonly string[]): Promise<number> {
  let recording: string;
  let passes: number;
  let policyDir: string | undefined;
  try {
    const { values } = parseArgs({
      args: [...args],
      options: {
        recording: { type: "string" },
        passes: { type: "string" },
        policy: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    recording = values.recording ?? DEFAULT_RECORDING;
    passes = values.passes === undefined ? 5 : Number(values.passes);
    if (!Number.isInteger(passes) || passes < 1)
      throw new Error(`--passes must be an integer >= 1, got '${values.passes}'`);
    policyDir = values.policy;
  } catch (error) {
    process.stderr.write(`esper bench tamiyo: ${(error as Error).message}\n${HELP}\n`);
    return 2;
  }
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
