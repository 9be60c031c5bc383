import { parseArgs } from "node:util";
import { KILLED_ACTORS, RECOVERY_GOAL_MS, runRecoveryBench } from "../../harness/bench/recovery-bench.ts";

const HELP = `usage: esper bench recovery [--kills N] [--job NAME] [--settle-ms MS] [--json]

Weatherlight's recovery from a killed actor: runs \`esper up\` on a long job (its own nats-server, a
health port), raises the restart intensity with a signed settings change, then SIGKILLs
${KILLED_ACTORS.join(", ")} in turn (Tolaria is not restartable) and times each kill until /healthz
answers 200 with the actor's new process. The actors log at info level, so each new process's
lifecycle lines split its start. Prints one JSON object: recovery p50/p95/max, the p50 of each phase
(exit seen, backoff, spawn to ready, ready to operational), spawn to ready split (node start and
imports, connect and preflight, start, running heartbeat to ready), every sample. Exit 1 when the p95
is over the goal (${RECOVERY_GOAL_MS} ms).

  --kills N        kills (default 10)
  --job NAME       the run's job, long enough to outlive the kills (default spirals-soak)
  --settle-ms MS   pause once operational before the next kill (default 500)
  --json           print JSON (the only output format; accepted for explicitness)`;

function integer(flag: string, value: string, min: number): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min)
    throw new Error(`--${flag} must be an integer >= ${min}, got '${value}'`);
  return Number(value);
}

/** `esper bench recovery`: SIGKILL → operational again, p50/p95 over N kills; prints JSON, exit 1 over the goal. */
export async function run(args: readonly string[]): Promise<number> {
  let opts: Parameters<typeof runRecoveryBench>[0];
  try {
    const { values } = parseArgs({
      args: [...args],
      options: {
        kills: { type: "string", default: "10" },
        job: { type: "string", default: "spirals-soak" },
        "settle-ms": { type: "string", default: "500" },
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
    opts = {
      kills: integer("kills", values.kills, 1),
      job: values.job,
      settleMs: integer("settle-ms", values["settle-ms"], 0),
      recoveryTimeoutMs: 30_000,
    };
  } catch (error) {
    process.stderr.write(`esper bench recovery: ${(error as Error).message}\n${HELP}\n`);
    return 2;
  }
  const result = await runRecoveryBench(opts);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return result.ok ? 0 : 1;
}
