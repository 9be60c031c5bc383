import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startLocalNatsServer } from "../../bus/server/local-nats-server.ts";
import {
  type ActorSoakOptions,
  DEFAULT_ACTOR_MAX_HEAP_GROWTH_BYTES,
  runActorSoak,
} from "../../harness/soak/actor-soak.ts";
import { PLANT_KINDS, parsePlantKind } from "../../harness/soak/plants.ts";

const MIB = 1024 * 1024;

const HELP = `usage: esper soak actor [--cycles N] [--seed S] [--cycle-timeout-ms MS] [--max-heap-growth-mb MB]
                        [--plant KIND] [--json]

Soaks the actor runtime in this process against a nats-server it starts on a free port with its own
temporary store directory (stopped and removed at the end). N times: starts a small actor, sends it
seeded load through ctx.subscribe, mailboxes and the TaskQueue, changes its worker settings live,
waits for heartbeats and telemetry, drains it. Prints one JSON object: outcome counts (the same for
the same seed), timing, exit codes, leaked ref'd and unref'd timers and handles, unsettled handlers,
cycle timeouts, broken expectations (all must be 0) and heap growth after forced GCs from the first
cycle to the last (must stay within the bound). \`failures\` says why a run is not ok.
Exit code 1 when the run is not ok.

  --cycles N               start/drain cycles, at least 2 (default 10)
  --seed S                 seed of the load and the settings changes (default 1)
  --cycle-timeout-ms MS    time one cycle's load may take (default 10000)
  --max-heap-growth-mb MB  heap growth that fails the run (default ${DEFAULT_ACTOR_MAX_HEAP_GROWTH_BYTES / MIB})
  --plant KIND             plant a leak in the actor to check that the soak finds it: ${PLANT_KINDS.join(", ")}
  --json                   print JSON (the only output format; accepted for explicitness)`;

function integer(flag: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min) {
    throw new Error(`--${flag} must be an integer >= ${min}, got '${value}'`);
  }
  return Number(value);
}

function parse(args: readonly string[]): Omit<ActorSoakOptions, "address"> | "help" {
  const { values } = parseArgs({
    args: [...args],
    options: {
      cycles: { type: "string" },
      seed: { type: "string" },
      "cycle-timeout-ms": { type: "string" },
      "max-heap-growth-mb": { type: "string" },
      plant: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  return {
    cycles: integer("cycles", values.cycles, 10, 2),
    seed: integer("seed", values.seed, 1, Number.MIN_SAFE_INTEGER),
    cycleTimeoutMs: integer("cycle-timeout-ms", values["cycle-timeout-ms"], 10_000, 1),
    maxHeapGrowthBytes:
      integer(
        "max-heap-growth-mb",
        values["max-heap-growth-mb"],
        DEFAULT_ACTOR_MAX_HEAP_GROWTH_BYTES / MIB,
        1,
      ) * MIB,
    ...(values.plant !== undefined ? { plant: parsePlantKind(values.plant) } : {}),
  };
}

/** `esper soak actor`: the actor runtime soak against its own nats-server; prints JSON, exit 1 when not ok. */
export async function run(args: readonly string[]): Promise<number> {
  let opts: Omit<ActorSoakOptions, "address"> | "help";
  try {
    opts = parse(args);
  } catch (error) {
    process.stderr.write(`esper soak actor: ${(error as Error).message}\n${HELP}\n`);
    return 2;
  }
  if (opts === "help") {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
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
