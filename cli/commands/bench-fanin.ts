import { parseArgs } from "node:util";
import { FANIN_GOAL_PACKETS_PER_SEC, runFaninBench } from "../../harness/bench/fanin-bench.ts";

const HELP = `usage: esper bench fanin [--packets N] [--warmup N] [--window N] [--in-flight N] [--critical-every N]
                         [--nats nats://...] [--json]

Weatherlight's telemetry fan-in against a nats-server it starts on a free port with its own temporary
store directory (or --nats): a publisher sends raw TelemetryPackets, the router stores each one on the
normal or emergency stream with JetStream acks. Prints one JSON object: published, stored (stream
info), loss = published - stored (must be 0), routed packets/s, routing latency p50/p99 (raw publish
to stored), the router's counters. Exit code 1 when there is loss or the rate is under the goal
(${FANIN_GOAL_PACKETS_PER_SEC} packets/s).

  --packets N          timed packets (default 50000)
  --warmup N           packets routed before timing (default 5000)
  --window N           most packets published but not yet routed (default 1024)
  --in-flight N        the router's unacked stream publishes (default 256)
  --critical-every N   every N-th packet is CRITICAL, 0 for none (default 100)
  --json               print JSON (the only output format; accepted for explicitness)`;

function integer(flag: string, value: string, min: number): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min)
    throw new Error(`--${flag} must be an integer >= ${min}, got '${value}'`);
  return Number(value);
}

/** `esper bench fanin`: the telemetry router's routed rate, loss and latency; prints JSON, exit 1 on loss or under the goal. */
export async function run(args: readonly string[]): Promise<number> {
  let opts: Parameters<typeof runFaninBench>[0];
  try {
    const { values } = parseArgs({
      args: [...args],
      options: {
        packets: { type: "string", default: "50000" },
        warmup: { type: "string", default: "5000" },
        window: { type: "string", default: "1024" },
        "in-flight": { type: "string", default: "256" },
        "critical-every": { type: "string", default: "100" },
        nats: { type: "string" },
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
      packets: integer("packets", values.packets, 1),
      warmup: integer("warmup", values.warmup, 0),
      window: integer("window", values.window, 1),
      maxInFlight: integer("in-flight", values["in-flight"], 1),
      criticalEvery: integer("critical-every", values["critical-every"], 0),
      ...(values.nats !== undefined ? { url: values.nats } : {}),
    };
  } catch (error) {
    process.stderr.write(`esper bench fanin: ${(error as Error).message}\n${HELP}\n`);
    return 2;
  }
  const result = await runFaninBench(opts);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return result.ok ? 0 : 1;
}
