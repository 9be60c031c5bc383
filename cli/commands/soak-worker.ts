import { type Command, InvalidArgumentError, Option } from "commander";
import { PLANT_KINDS, parsePlantKind } from "../../harness/soak/plants.ts";
import { workerScenarios } from "../../harness/soak/worker-scenarios.ts";
import {
  DEFAULT_MAX_HEAP_GROWTH_BYTES,
  runWorkerSoak,
  type WorkerScenarioName,
  type WorkerSoakOptions,
} from "../../harness/soak/worker-soak.ts";
import { durationMs, helpFooter, integer, jsonOption, repeated } from "../flags.ts";

const MIB = 1024 * 1024;

/** `esper soak worker [--iterations N] [--seed S] [--scenario NAME]... [--scenario-timeout-ms MS] [--max-heap-growth-mb MB] [--plant KIND] [--json]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      `Runs the six RC1 TaskQueue soak scenarios (${Object.keys(workerScenarios).join(", ")}) N times each ` +
        "and prints one JSON object: per-scenario outcome counts (the same for the same seed), timing counters, " +
        "latency percentiles, leaked tasks, leaked ref'd and unref'd timers, unsettled callers, scenario " +
        "timeouts and broken expectations (all must be 0), and heap growth after forced GCs from the first " +
        "iteration to the last (must stay within the bound). `failures` says why a run is not ok.",
    )
    .option("--iterations <n>", "iterations per scenario, at least 2", integer(2), 5)
    .option("--seed <s>", "seed of the workload", integer(Number.MIN_SAFE_INTEGER), 1)
    .addOption(
      new Option("--scenario <name>", "run only this scenario (repeatable)")
        .choices(Object.keys(workerScenarios))
        .argParser((name, previous: WorkerScenarioName[] | undefined) => {
          if (!(name in workerScenarios))
            throw new InvalidArgumentError(`Allowed choices are ${Object.keys(workerScenarios).join(", ")}.`);
          return repeated(name, previous) as WorkerScenarioName[];
        }),
    )
    .option("--scenario-timeout-ms <ms>", "time one scenario may take", durationMs(), 10_000)
    .option(
      "--max-heap-growth-mb <mb>",
      "heap growth that fails the run",
      integer(1),
      DEFAULT_MAX_HEAP_GROWTH_BYTES / MIB,
    )
    .addOption(
      new Option("--plant <kind>", "plant a leak to check that the soak finds it").choices(PLANT_KINDS),
    )
    .addOption(jsonOption());
  helpFooter(cmd, { exitCodes: { 0: "the run is ok", 1: "the run is not ok", 2: "bad arguments" } });
}

/** `esper soak worker`: the TaskQueue soak; prints a JSON report, exit 1 when the run is not ok. */
export async function action(cmd: Command): Promise<number> {
  const o = cmd.opts<{
    iterations: number;
    seed: number;
    scenario?: WorkerScenarioName[];
    scenarioTimeoutMs: number;
    maxHeapGrowthMb: number;
    plant?: string;
  }>();
  const opts: WorkerSoakOptions = {
    iterations: o.iterations,
    seed: o.seed,
    scenarioTimeoutMs: o.scenarioTimeoutMs,
    maxHeapGrowthBytes: o.maxHeapGrowthMb * MIB,
    ...(o.scenario !== undefined ? { only: o.scenario } : {}),
    ...(o.plant !== undefined ? { plant: parsePlantKind(o.plant) } : {}),
  };
  const report = await runWorkerSoak(opts);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return report.ok ? 0 : 1;
}
