import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Command, Option } from "commander";
import { startLocalNatsServer } from "../../bus/server/local-nats-server.ts";
import {
  type ActorSoakOptions,
  DEFAULT_ACTOR_MAX_HEAP_GROWTH_BYTES,
  runActorSoak,
} from "../../harness/soak/actor-soak.ts";
import { PLANT_KINDS, parsePlantKind } from "../../harness/soak/plants.ts";
import { durationMs, helpFooter, integer, jsonOption } from "../flags.ts";

const MIB = 1024 * 1024;

/** `esper soak actor [--cycles N] [--seed S] [--cycle-timeout-ms MS] [--max-heap-growth-mb MB] [--plant KIND] [--json]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Soaks the actor runtime in this process against a nats-server it starts on a free port with its own " +
        "temporary store directory (stopped and removed at the end). N times: starts a small actor, sends it " +
        "seeded load through ctx.subscribe, mailboxes and the TaskQueue, changes its worker settings live, " +
        "waits for heartbeats and telemetry, drains it. Prints one JSON object: outcome counts (the same for " +
        "the same seed), timing, exit codes, leaked ref'd and unref'd timers and handles, unsettled handlers, " +
        "cycle timeouts, broken expectations (all must be 0) and heap growth after forced GCs from the first " +
        "cycle to the last (must stay within the bound). `failures` says why a run is not ok.",
    )
    .option("--cycles <n>", "start/drain cycles, at least 2", integer(2), 10)
    .option("--seed <s>", "seed of the load and the settings changes", integer(Number.MIN_SAFE_INTEGER), 1)
    .option("--cycle-timeout-ms <ms>", "time one cycle's load may take", durationMs(), 10_000)
    .option(
      "--max-heap-growth-mb <mb>",
      "heap growth that fails the run",
      integer(1),
      DEFAULT_ACTOR_MAX_HEAP_GROWTH_BYTES / MIB,
    )
    .addOption(
      new Option("--plant <kind>", "plant a leak in the actor to check that the soak finds it").choices(
        PLANT_KINDS,
      ),
    )
    .addOption(jsonOption());
  helpFooter(cmd, { exitCodes: { 0: "the run is ok", 1: "the run is not ok", 2: "bad arguments" } });
}

/** `esper soak actor`: the actor runtime soak against its own nats-server; prints JSON, exit 1 when not ok. */
export async function action(cmd: Command): Promise<number> {
  const o = cmd.opts<{
    cycles: number;
    seed: number;
    cycleTimeoutMs: number;
    maxHeapGrowthMb: number;
    plant?: string;
  }>();
  const opts: Omit<ActorSoakOptions, "address"> = {
    cycles: o.cycles,
    seed: o.seed,
    cycleTimeoutMs: o.cycleTimeoutMs,
    maxHeapGrowthBytes: o.maxHeapGrowthMb * MIB,
    ...(o.plant !== undefined ? { plant: parsePlantKind(o.plant) } : {}),
  };
  const storeDir = await mkdtemp(join(tmpdir(), "esper-soak-nats-"));
  try {
    const server = await startLocalNatsServer({ storeDir });
    try {
      const report = await runActorSoak({ ...opts, address: { servers: server.url } });
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return report.ok ? 0 : 1;
    } finally {
      await server.stop();
    }
  } finally {
    await rm(storeDir, { recursive: true, force: true });
  }
}
