import { parseArgs } from "node:util";
import { runBusBench } from "../../harness/bench/bus-bench.ts";

const USAGE =
  "esper bench bus [--messages N] [--stream-messages N] [--requests N] [--rounds N] [--warmup N] [--stream-window N] [--nats nats://...] [--json]\n";

function positiveInt(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${flag} must be an integer >= ${min}, got '${text}'`);
  return n;
}

/**
 * `esper bench bus`: bus/ vs raw nats.js on one local server (core throughput, request/reply latency,
 * JetStream acked publish) as paired per-round ratios; prints JSON, exits 1 when a median ratio exceeds the goal.
 */
export async function run(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      messages: { type: "string", default: "1000" },
      "stream-messages": { type: "string", default: "300" },
      requests: { type: "string", default: "150" },
      rounds: { type: "string", default: "15" },
      warmup: { type: "string", default: "2" },
      "stream-window": { type: "string", default: "64" },
      nats: { type: "string" },
      json: { type: "boolean", default: true },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const result = await runBusBench({
    messages: positiveInt("messages", values.messages, 100),
    streamMessages: positiveInt("stream-messages", values["stream-messages"], 10),
    requests: positiveInt("requests", values.requests, 10),
    rounds: positiveInt("rounds", values.rounds, 1),
    warmup: positiveInt("warmup", values.warmup, 0),
    streamWindow: positiveInt("stream-window", values["stream-window"], 1),
    ...(values.nats !== undefined ? { url: values.nats } : {}),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return result.withinGoal ? 0 : 1;
}
