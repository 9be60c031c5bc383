import { type Command, Option } from "commander";
import { benchTolaria } from "../../harness/bench/tolaria-bench.ts";
import { benchRestore } from "../../harness/bench/tolaria-restore.ts";
import { TOLARIA_GOALS } from "../../harness/bench/tolaria-summary.ts";
import { fashionMnistGrowthPreset } from "../../nn/presets/fashion-mnist-growth.ts";
import { DEFAULT_JOB, jobPresets } from "../../nn/presets/job-selection.ts";
import { durationMs, helpFooter, integer, jsonOption } from "../flags.ts";

/** `esper bench tolaria [--job NAME] [--restores N] [--lateness-job NAME] [--window MS] [--gap MS] [--heartbeat MS] [--only restore] [--json]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Times Tolaria and prints one JSON report: the epoch-boundary split (state assembly, Tamiyo round trip, " +
        "directive application, whole; p50/p95 in ms) from an `esper up` run; N fast (snapshot ring) and N full " +
        "(checkpoint from disk, sha256 checked) restores of a 1M-parameter Fashion-MNIST host with its AdamW " +
        "state; and, while `esper up` trains a job, how long signed OPTIMIZER commands wait for Tolaria's ack " +
        "and how late its heartbeats are. Goals: boundary p95 <= 5 ms, fast restore <= 5 ms, full <= 500 ms; " +
        "acks and heartbeats later than 100 ms mean the steps belong in a worker thread. Timings, not asserts.",
    )
    .addOption(
      new Option("--job <name>", "the job of the boundary run")
        .choices(Object.keys(jobPresets))
        .default(DEFAULT_JOB),
    )
    .option("--restores <n>", "fast and full restores timed, each", integer(1, 10_000), 20)
    .addOption(
      new Option("--lateness-job <name>", "the job trained while acks and heartbeats are timed")
        .choices(Object.keys(jobPresets))
        .default(fashionMnistGrowthPreset.name),
    )
    .option(
      "--window <ms>",
      "how long acks and heartbeats are timed at most (the run may end first)",
      durationMs(),
      60_000,
    )
    .option("--gap <ms>", "pause between one command's ack and the next command", durationMs(), 100)
    .option(
      "--heartbeat <ms>",
      "Tolaria's heartbeat interval during the lateness run (a signed settings set; default 1 s gives too few)",
      integer(50, 60_000),
      100,
    )
    .addOption(
      new Option(
        "--only <section>",
        "time only this section (restore: no `esper up`, seconds instead of minutes); the report holds goals and that section",
      ).choices(["restore"]),
    )
    .addOption(jsonOption());
  helpFooter(cmd, {
    exitCodes: {
      0: "measured",
      1: "a part could not be measured (the error says which)",
      2: "bad arguments",
    },
  });
}

/** `esper bench tolaria`: boundary, restore and lateness, timed; prints JSON. */
export async function action(cmd: Command): Promise<number> {
  const o = cmd.opts<{
    job: string;
    restores: number;
    latenessJob: string;
    window: number;
    gap: number;
    heartbeat: number;
    only?: "restore";
  }>();
  if (o.only === "restore") {
    const restore = await benchRestore(o.restores);
    process.stdout.write(`${JSON.stringify({ bench: "tolaria", goals: TOLARIA_GOALS, restore }, null, 2)}\n`);
    return 0;
  }
  const report = await benchTolaria({
    boundaryJob: o.job,
    restores: o.restores,
    latenessJob: o.latenessJob,
    latenessWindowMs: o.window,
    commandGapMs: o.gap,
    heartbeatIntervalMs: o.heartbeat,
  });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return 0;
}
