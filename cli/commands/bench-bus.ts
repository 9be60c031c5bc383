import type { Command } from "commander";
import { runBusBench } from "../../harness/bench/bus-bench.ts";
import { helpFooter, integer, jsonOption, natsOption } from "../flags.ts";

/** `esper bench bus [--messages N] … [--nats URL] [--json]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "bus/ vs raw nats.js on one local server (core throughput, request/reply latency, JetStream acked " +
        "publish) as paired per-round ratios; prints one JSON report.",
    )
    .option("--messages <n>", "core pub/sub messages per round", integer(100), 1000)
    .option("--stream-messages <n>", "JetStream acked publishes per round", integer(10), 300)
    .option("--requests <n>", "request/reply round trips per round", integer(10), 150)
    .option("--rounds <n>", "timed rounds", integer(1), 15)
    .option("--warmup <n>", "untimed rounds first", integer(0), 2)
    .option("--stream-window <n>", "JetStream publishes in flight at once", integer(1), 64)
    .addOption(natsOption())
    .addOption(jsonOption());
  helpFooter(cmd, {
    exitCodes: {
      0: "every median ratio within its goal",
      1: "a median ratio over its goal",
      2: "bad arguments",
    },
  });
}

/** `esper bench bus`: prints JSON, exits 1 when a median ratio exceeds the goal. */
export async function action(cmd: Command): Promise<number> {
  const o = cmd.opts<{
    messages: number;
    streamMessages: number;
    requests: number;
    rounds: number;
    warmup: number;
    streamWindow: number;
    nats?: string;
  }>();
  const result = await runBusBench({
    messages: o.messages,
    streamMessages: o.streamMessages,
    requests: o.requests,
    rounds: o.rounds,
    warmup: o.warmup,
    streamWindow: o.streamWindow,
    ...(o.nats !== undefined ? { url: o.nats } : {}),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return result.withinGoal ? 0 : 1;
}
