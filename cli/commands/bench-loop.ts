import { parseArgs } from "node:util";
import { benchLoop } from "../../harness/bench/loop-bench.ts";
import { DEFAULT_JOB, jobPresets } from "../../nn/presets/job-selection.ts";

const HELP = `usage: esper bench loop [--job NAME] [--json]
Runs \`esper up\` on a job (default ${DEFAULT_JOB}; known: ${Object.keys(jobPresets).join(", ")}) with its own
nats-server and a temporary run directory, and prints one JSON report: wall time, epochs/s, accuracy,
parameter count, each seed's stages, and the epoch-boundary figures from Tolaria's telemetry (state
assembly, Tamiyo round trip, directive application, whole boundary; p50/p95 in ms).
Exit code 1 when the run does not complete.`;

/** \`esper bench loop\`: the control loop end to end, timed; prints JSON. */
export async function run(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { job: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const job = values.job ?? DEFAULT_JOB;
  if (jobPresets[job] === undefined) {
    process.stderr.write(`esper bench loop: --job must be one of ${Object.keys(jobPresets).join(", ")}\n`);
    return 2;
  }
  process.stdout.write(`${JSON.stringify(await benchLoop(job), null, 2)}\n`);
  return 0;
}
