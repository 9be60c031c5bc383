import type { Command } from "commander";
import { KILLED_ACTORS, RECOVERY_GOAL_MS, runRecoveryBench } from "../../harness/bench/recovery-bench.ts";
import { helpFooter, integer, jsonOption } from "../flags.ts";

/** `esper bench recovery [--kills N] [--job NAME] [--settle-ms MS] [--json]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Weatherlight's recovery from a killed actor: runs `esper up` on a long job (its own nats-server, a " +
        "health port), raises the restart intensity with a signed settings change, then SIGKILLs " +
        `${KILLED_ACTORS.join(", ")} in turn (Tolaria is not restartable) and times each kill until /healthz ` +
        "answers 200 with the actor's new process. The actors log at info level, so each new process's " +
        "lifecycle lines split its start. Prints one JSON object: recovery p50/p95/max, the p50 of each phase " +
        "(exit seen, backoff, spawn to ready, ready to operational), spawn to ready split (node start and " +
        "imports, connect and preflight, start, running heartbeat to ready), every sample.",
    )
    .option("--kills <n>", "kills", integer(1), 10)
    .option("--job <name>", "the run's job, long enough to outlive the kills", "spirals-soak")
    .option("--settle-ms <ms>", "pause once operational before the next kill", integer(0), 500)
    .addOption(jsonOption());
  helpFooter(cmd, {
    exitCodes: {
      0: `the p95 within the goal (${RECOVERY_GOAL_MS} ms)`,
      1: "the p95 over the goal",
      2: "bad arguments",
    },
  });
}

/** `esper bench recovery`: SIGKILL → operational again, p50/p95 over N kills; prints JSON, exit 1 over the goal. */
export async function action(cmd: Command): Promise<number> {
  const o = cmd.opts<{ kills: number; job: string; settleMs: number }>();
  const result = await runRecoveryBench({
    kills: o.kills,
    job: o.job,
    settleMs: o.settleMs,
    recoveryTimeoutMs: 30_000,
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return result.ok ? 0 : 1;
}
