import { parseArgs } from "node:util";
import { PLANT_KINDS, parsePlantKind } from "../../harness/soak/plants.ts";
import { workerScenarios } from "../../harness/soak/worker-scenarios.ts";
import {
  DEFAULT_MAX_HEAP_GROWTH_BYTES,
  runWorkerSoak,
  type WorkerScenarioName,
  type WorkerSoakOptions,
} from "../../harness/soak/worker-soak.ts";

const MIB = 1024 * 1024;

const HELP = `usage: esper soak worker [--iterations N] [--seed S] [--scenario NAME]... [--scenario-timeout-ms MS]
                         [--max-heap-growth-mb MB] [--plant KIND] [--json]

Runs the six RC1 TaskQueue soak scenarios (${Object.keys(workerScenarios).join(", ")})
N times each and prints one JSON object: per-scenario outcome counts (the same for the same seed),
timing counters, latency percentiles, leaked tasks, leaked ref'd and unref'd timers, unsettled
callers, scenario timeouts and broken expectations (all must be 0), and heap growth after forced GCs
from the first iteration to the last (must stay within the bound). \`failures\` says why a run is not ok.
Exit code 1 when the run is not ok.

  --iterations N           iterations per scenario, at least 2 (default 5)
  --seed S                 seed of the workload (default 1)
  --scenario NAME          run only this scenario (repeatable)
  --scenario-timeout-ms MS time one scenario may take (default 10000)
  --max-heap-growth-mb MB  heap growth that fails the run (default ${DEFAULT_MAX_HEAP_GROWTH_BYTES / MIB})
  --plant KIND             plant a leak to check that the soak finds it: ${PLANT_KINDS.join(", ")}
  --json                   print JSON (the only output format; accepted for explicitness)`;

function integer(flag: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min) {
    throw new Error(`--${flag} must be an integer >= ${min}, got '${value}'`);
  }
  return Number(value);
}

function parse(args: readonly string[]): WorkerSoakOptions | "help" {
  const { values } = parseArgs({
    args: [...args],
    options: {
      iterations: { type: "string" },
      seed: { type: "string" },
      scenario: { type: "string", multiple: true },
      "scenario-timeout-ms": { type: "string" },
      "max-heap-growth-mb": { type: "string" },
      plant: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  for (const s of values.scenario ?? []) {
    if (!(s in workerScenarios))
      throw new Error(`--scenario '${s}' is not one of ${Object.keys(workerScenarios).join(", ")}`);
  }
  const only = values.scenario as WorkerScenarioName[] | undefined;
  const heapMb = values["max-heap-growth-mb"];
  return {
    iterations: integer("iterations", values.iterations, 5, 2),
    seed: integer("seed", values.seed, 1, Number.MIN_SAFE_INTEGER),
    scenarioTimeoutMs: integer("scenario-timeout-ms", values["scenario-timeout-ms"], 10_000, 1),
    maxHeapGrowthBytes: integer("max-heap-growth-mb", heapMb, DEFAULT_MAX_HEAP_GROWTH_BYTES / MIB, 1) * MIB,
    ...(only ? { only } : {}),
    ...(values.plant !== undefined ? { plant: parsePlantKind(values.plant) } : {}),
  };
}

/** `esper soak worker`: the TaskQueue soak; prints a JSON report, exit 1 when the run is not ok. */
export async function run(args: readonly string[]): Promise<number> {
  let opts: WorkerSoakOptions | "help";
  try {
    opts = parse(args);
  } catch (error) {
    process.stderr.write(`esper soak worker: ${(error as Error).message}\n${HELP}\n`);
    return 2;
  }
  if (opts === "help") {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const report = await runWorkerSoak(opts);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return report.ok ? 0 : 1;
}
