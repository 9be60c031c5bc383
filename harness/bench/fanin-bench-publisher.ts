import { isProcessEntry } from "../../actors/runtime/main-entry.ts";
import { connectBus } from "../../bus/connection.ts";
import { publish } from "../../bus/typed.ts";
import { MessagePriority, TelemetryLevel } from "../../contracts/enums.ts";
import type { TelemetryPacket } from "../../contracts/messages/telemetry.ts";

/**
 * The load of `esper bench fanin`, run as its own process (as the actors are): raw TelemetryPackets on
 * `telemetry.raw.<actor>`, each carrying its send time, with at most `window` packets published but not
 * yet routed (the driver tells it the routed count over IPC). Started by fanin-bench.ts.
 */

/** What the driver sends. */
export type PublisherCommand =
  | { readonly type: "publish"; readonly from: number; readonly to: number }
  | { readonly type: "routed"; readonly count: number }
  | { readonly type: "exit" };

/** What the publisher answers. */
export type PublisherReport =
  | { readonly type: "ready" }
  | { readonly type: "published"; readonly to: number };

/** The publisher's arguments, passed as one JSON argument. */
export interface PublisherArgs {
  readonly url: string;
  readonly namespace: string;
  readonly run: string;
  readonly window: number;
  readonly criticalEvery: number;
}

/** The metric carrying a packet's send time, in wall-clock microseconds since the epoch. */
export const SENT_AT_METRIC = "bench.fanin.sent_at_us";
const SOURCES = ["tolaria", "kasmina", "tamiyo", "urza"] as const;

/** The packet id of packet `i` of run `run`. */
export function benchPacketId(run: string, i: number): string {
  return `${run}-${i}`;
}

function nowUs(): number {
  return (performance.timeOrigin + performance.now()) * 1000;
}

function packetAt(args: PublisherArgs, i: number): TelemetryPacket {
  const critical = args.criticalEvery > 0 && i % args.criticalEvery === 0;
  const source = SOURCES[i % SOURCES.length] as string;
  return {
    packetId: benchPacketId(args.run, i),
    timestampMs: Date.now(),
    sourceSubsystem: source,
    level: critical ? TelemetryLevel.CRITICAL : TelemetryLevel.INFO,
    priority: critical ? MessagePriority.CRITICAL : MessagePriority.NORMAL,
    metrics: [
      { name: SENT_AT_METRIC, value: nowUs(), unit: "us" },
      { name: `${source}.training.loss`, value: 1 / (i + 1) },
    ],
    events: [],
    spans: [],
  };
}

async function main(): Promise<void> {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error("fanin-bench-publisher must be started with an IPC channel");
  const args = JSON.parse(process.argv[2] ?? "") as PublisherArgs;
  const bus = await connectBus({ servers: args.url, name: "fanin-publisher", namespace: args.namespace });
  let routed = 0;
  let phase: Promise<void> = Promise.resolve();
  let wake: (() => void) | undefined;
  const routedChanged = (): Promise<void> =>
    new Promise((r) => {
      wake = r;
    });
  const run = async (from: number, to: number): Promise<void> => {
    let next = from;
    while (next < to) {
      const room = Math.min(args.window - (next - routed), to - next, 512);
      for (let k = 0; k < room; k++, next++) {
        const packet = packetAt(args, next);
        publish(bus, "telemetryRaw", packet, { params: { actor: packet.sourceSubsystem } });
      }
      // A full window waits for the driver's next routed count; otherwise let the socket write.
      await (room <= 0 ? routedChanged() : new Promise((r) => setImmediate(r)));
    }
    send({ type: "published", to } satisfies PublisherReport);
  };
  process.on("message", (cmd: PublisherCommand) => {
    if (cmd.type === "routed") {
      routed = cmd.count;
      wake?.();
      wake = undefined;
    } else if (cmd.type === "publish") phase = phase.then(() => run(cmd.from, cmd.to));
    else void phase.then(() => bus.close()).then(() => process.exit(0));
  });
  send({ type: "ready" } satisfies PublisherReport);
}

if (isProcessEntry(import.meta.url)) await main();
