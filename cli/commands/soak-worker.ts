import { parseArgs } from "node:util";
import { workerScenarios } from "../../harness/soak/worker-scenarios.ts";
import { runWorkerSoak, type WorkerScenarioName } from "../../harness/soak/worker-soak.ts";

const HELP = `usage: esper soak worker [--iterations N] [--seed S] [--scenario NAME]... [--json]

Runs the six RC1 TaskQueue soak scenarios (${Object.keys(workerScenarios).join(", ")})
N times each and prints one JSON object: per-scenario counts, latency percentiles, leaked tasks
and timers (must be 0), broken expectations (must be 0) and heap growth across iterations.
Exit code 1 when anything leaked or an expectation broke.

  --iterations N   iterations per scenario (default 5)
  --seed S         seed of the workload (default 1)
  --scenario NAME  run only this scenario (repeatable)
  --json           print JSON (the only output format; accepted for explicitness)`;

function integer(flag: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min) {
    throw new Error(`--${flag} must be an integer >= ${min}, got '${value}'`);
  }
  return Number(value);
}

/** `esper soak worker`: the TaskQueue soak; prints a JSON report, exit 1 on leaks or violations. */
export async function run(args: readonly string[]): Promise<number> {
  let values: { iterations?: string; seed?: string; scenario?: string[]; json?: boolean; help?: boolean };
  let iterations: number;
  let seed: number;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        iterations: { type: "string" },
        seed: { type: "string" },
        scenario: { type: "string", multiple: true },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
    iterations = integer("iterations", values.iterations, 5, 1);
    seed = integer("seed", values.seed, 1, Number.MIN_SAFE_INTEGER);
    for (const s of values.scenario ?? []) {
      if (!(s in workerScenarios))
        throw new Error(`--scenario '${s}' is not one of ${Object.keys(workerScenarios).join(", ")}`);
    }
  } catch (error) {
    process.stderr.write(`esper soak worker: ${(error as Error).message}\n${HELP}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const only = values.scenario as WorkerScenarioName[] | undefined;
  const report = await runWorkerSoak({ iterations, seed, ...(only ? { only } : {}) });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return report.ok ? 0 : 1;
}
