import type { Command } from "commander";
import { FANIN_GOAL_PACKETS_PER_SEC, runFaninBench } from "../../harness/bench/fanin-bench.ts";
import { helpFooter, integer, jsonOption, natsOption } from "../flags.ts";

/** `esper bench fanin [--packets N] [--warmup N] [--window N] [--in-flight N] [--critical-every N] [--nats URL] [--json]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Weatherlight's telemetry fan-in against a nats-server it starts on a free port with its own temporary " +
        "store directory (or --nats): a publisher sends raw TelemetryPackets, the router stores each one on the " +
        "normal or emergency stream with JetStream acks. Prints one JSON object: published, stored (stream " +
        "info), loss = published - stored (must be 0), routed packets/s, routing latency p50/p99 (raw publish " +
        "to stored), the router's counters.",
    )
    .option("--packets <n>", "timed packets", integer(1), 50_000)
    .option("--warmup <n>", "packets routed before timing", integer(0), 5_000)
    .option("--window <n>", "most packets published but not yet routed", integer(1), 1024)
    .option("--in-flight <n>", "the router's unacked stream publishes", integer(1), 256)
    .option("--critical-every <n>", "every N-th packet is CRITICAL, 0 for none", integer(0), 100)
    .addOption(natsOption())
    .addOption(jsonOption());
  helpFooter(cmd, {
    exitCodes: {
      0: `no loss and at least ${FANIN_GOAL_PACKETS_PER_SEC} packets/s`,
      1: "loss, or the rate under the goal",
      2: "bad arguments",
    },
  });
}

/** `esper bench fanin`: the telemetry router's routed rate, loss and latency; prints JSON, exit 1 on loss or under the goal. */
export async function action(cmd: Command): Promise<number> {
  const o = cmd.opts<{
    packets: number;
    warmup: number;
    window: number;
    inFlight: number;
    criticalEvery: number;
    nats?: string;
  }>();
  const result = await runFaninBench({
    packets: o.packets,
    warmup: o.warmup,
    window: o.window,
    maxInFlight: o.inFlight,
    criticalEvery: o.criticalEvery,
    ...(o.nats !== undefined ? { url: o.nats } : {}),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return result.ok ? 0 : 1;
}
