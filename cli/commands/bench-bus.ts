import { parseArgs } from "node:util";
import { runBusBench } from "../../harness/bench/bus-bench.ts";

const USAGE =
  "esper bench bus [--messages N] [--stream-messages N] [--requests N] [--rounds N] [--stream-window N] [--url nats://...] [--json]\n";

function positiveInt(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${flag} must be an integer >= ${min}, got '${text}'`);
  return n;
}

/** `esper bench bus`: bus/ vs raw nats.js on one local server (core throughput, request/reply latency, JetStream acked publish); prints JSON. */
export async function run(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      messages: { type: "string", default: "20000" },
      "stream-messages": { type: "string", default: "3000" },
      requests: { type: "string", default: "2000" },
      rounds: { type: "string", default: "5" },
      "stream-window": { type: "string", default: "64" },
      url: { type: "string" },
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
    streamWindow: positiveInt("stream-window", values["stream-window"], 1),
    ...(values.url !== undefined ? { url: values.url } : {}),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return result.withinGoal ? 0 : 1;
}
