import { type Command, Option } from "commander";
import { benchLoop } from "../../harness/bench/loop-bench.ts";
import { DEFAULT_JOB, jobPresets } from "../../nn/presets/job-selection.ts";
import { helpFooter, jsonOption } from "../flags.ts";

/** `esper bench loop [--job NAME] [--json]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Runs `esper up` on a job with its own nats-server and a temporary run directory, and prints one JSON " +
        "report: wall time, epochs/s, accuracy, parameter count, each seed's stages, and the epoch-boundary " +
        "figures from Tolaria's telemetry (state assembly, Tamiyo round trip, directive application, whole " +
        "boundary; p50/p95 in ms).",
    )
    .addOption(
      new Option("--job <name>", "the job preset").choices(Object.keys(jobPresets)).default(DEFAULT_JOB),
    )
    .addOption(jsonOption());
  helpFooter(cmd, { exitCodes: { 0: "the run completed", 1: "it did not complete", 2: "bad arguments" } });
}

/** `esper bench loop`: the control loop end to end, timed; prints JSON. */
export async function action(cmd: Command): Promise<number> {
  const { job } = cmd.opts<{ job: string }>();
  process.stdout.write(`${JSON.stringify(await benchLoop(job), null, 2)}\n`);
  return 0;
}
