import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { JsMsg } from "@nats-io/jetstream";
import { nuid } from "@nats-io/transport-node";
import {
  startTelemetryRouter,
  type TelemetryRouter,
  type TelemetryRouterStats,
} from "../../actors/weatherlight/telemetry-router.ts";
import { type BusConnection, connectBus } from "../../bus/connection.ts";
import { jetStreamManagerOf } from "../../bus/jetstream/context.ts";
import { type StreamKey, streamName } from "../../bus/jetstream/declarations.ts";
import { ensureResources } from "../../bus/jetstream/ensure.ts";
import { startLocalNatsServer } from "../../bus/server/local-nats-server.ts";
import { decode } from "../../contracts/codec.ts";
import { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import {
  type PublisherArgs,
  type PublisherCommand,
  type PublisherReport,
  SENT_AT_METRIC,
} from "./fanin-bench-publisher.ts";
import { percentile, round } from "./stats.ts";

/** The routed rate the issue asks for on this machine. */
export const FANIN_GOAL_PACKETS_PER_SEC = 20_000;

/** Options of the fan-in benchmark. */
export interface FaninBenchOptions {
  /** Packets timed (after the warm-up). */
  readonly packets: number;
  /** Packets routed before the timing starts (stored too, counted in `published`/`stored`). */
  readonly warmup: number;
  /** Most packets published but not yet routed: the publisher waits beyond it (closed loop, no intake drops). */
  readonly window: number;
  /** The router's stream publishes awaiting their ack at once. */
  readonly maxInFlight: number;
  /** Every n-th packet is CRITICAL (goes through the emergency token bucket, default worker settings); 0: none. */
  readonly criticalEvery: number;
  /** An existing server to use; default a private nats-server started for the run. */
  readonly url?: string;
}

/** The JSON printed by `esper bench fanin`. */
export interface FaninBenchResult {
  readonly server: { readonly url: string; readonly private: boolean };
  readonly machine: { readonly cpus: number; readonly loadavg1m: number };
  readonly options: Omit<FaninBenchOptions, "url">;
  /** Raw packets published, warm-up included. */
  readonly published: number;
  /** Messages in the two telemetry streams at the end (stream info). */
  readonly stored: { readonly normal: number; readonly emergency: number; readonly total: number };
  /** published − stored: must be 0. */
  readonly loss: number;
  /** Timed packets per second from the first timed publish to the last one routed (acked by its stream). */
  readonly routed: {
    readonly packetsPerSec: number;
    readonly wallMs: number;
    readonly cpuUsPerPacket: number;
  };
  /** From the raw publish (sender's clock) to the stream storing it (the server's stored timestamp), timed packets. */
  readonly latencyMs: {
    readonly p50: number;
    readonly p99: number;
    readonly max: number;
    readonly n: number;
  };
  readonly router: TelemetryRouterStats;
  /** Router events by id (throttled summaries, failures, drops). */
  readonly routerEvents: Readonly<Record<string, number>>;
  readonly goal: { readonly packetsPerSec: number; readonly met: boolean };
  /** Zero loss and the goal met. */
  readonly ok: boolean;
}

const PUBLISHER = fileURLToPath(new URL("./fanin-bench-publisher.ts", import.meta.url));

function doneOf(s: TelemetryRouterStats): number {
  return s.stored.normal + s.stored.emergency + s.publishFailures + s.dropped + s.discarded;
}

/** The load process: its reports in arrival order and a way to wait for one. */
class PublisherProcess {
  private readonly reports: PublisherReport[] = [];
  private waiter: (() => void) | undefined;
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.on("message", (r: PublisherReport) => {
      this.reports.push(r);
      this.waiter?.();
    });
    this.exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
    void this.exited.then(() => this.waiter?.());
  }

  static start(args: PublisherArgs): PublisherProcess {
    const child = spawn(process.execPath, ["--import", "tsx", PUBLISHER, JSON.stringify(args)], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    return new PublisherProcess(child);
  }

  send(cmd: PublisherCommand): void {
    this.child.send(cmd);
  }

  /** Waits for a report of `type`, failing when the process exits first. */
  async next(type: PublisherReport["type"]): Promise<void> {
    for (;;) {
      const i = this.reports.findIndex((r) => r.type === type);
      if (i >= 0) {
        this.reports.splice(i, 1);
        return;
      }
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(
          `fan-in publisher exited (${this.child.exitCode ?? this.child.signalCode}) before '${type}'`,
        );
      await new Promise<void>((r) => {
        this.waiter = r;
      });
    }
  }
}

/** Has packets [from, to) published, telling the publisher the routed count; resolves when all are routed. */
async function drive(
  publisher: PublisherProcess,
  router: TelemetryRouter,
  from: number,
  to: number,
): Promise<void> {
  publisher.send({ type: "publish", from, to });
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      const routed = doneOf(router.stats());
      publisher.send({ type: "routed", count: routed });
      if (routed >= to) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
    void publisher.exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`fan-in publisher exited (${code}) while publishing`));
    });
  });
}

/** The message count of stream `key` (stream info) and its messages, read through an ordered consumer. */
async function storedMessages(
  bus: BusConnection,
  key: StreamKey,
): Promise<{ count: number; messages: JsMsg[] }> {
  const jsm = await jetStreamManagerOf(bus);
  const name = streamName(bus.namespace, key);
  const expected = (await jsm.streams.info(name)).state.messages;
  const out: JsMsg[] = [];
  if (expected === 0) return { count: 0, messages: out };
  const consumer = await jsm.jetstream().consumers.get(name);
  const iter = await consumer.consume({ max_messages: 1024 });
  for await (const m of iter) {
    out.push(m);
    if (out.length >= expected) break;
  }
  await iter.close();
  return { count: expected, messages: out };
}

/**
 * Routes `warmup + packets` raw TelemetryPackets through Weatherlight's telemetry router against a
 * nats-server (private by default, own store directory) in one namespace of its own: a publisher
 * connection in this process sends on `telemetry.raw.<actor>` (closed loop, at most `window` unrouted),
 * the router stores each packet on its stream with JetStream acks. Stored counts come from stream info;
 * latency from each packet's send time (a metric it carries) to the time the stream stored it.
 */
export async function runFaninBench(opts: FaninBenchOptions): Promise<FaninBenchResult> {
  const storeDir = opts.url === undefined ? await mkdtemp(join(tmpdir(), "esper-fanin-nats-")) : undefined;
  const server = storeDir === undefined ? undefined : await startLocalNatsServer({ storeDir });
  const url = opts.url ?? (server?.url as string);
  const namespace = `fanin${nuid.next().slice(-8).toLowerCase()}`;
  let routerBus: BusConnection | undefined;
  let publisher: PublisherProcess | undefined;
  try {
    routerBus = await connectBus({ servers: url, name: "weatherlight-fanin", namespace });
    await ensureResources(routerBus);
    const events = new Map<string, number>();
    const settings = WorkerSettings.parse({});
    const router = startTelemetryRouter({
      bus: routerBus,
      emergency: () => settings.emergency,
      events: { event: (id) => events.set(id, (events.get(id) ?? 0) + 1) },
      maxInFlight: opts.maxInFlight,
    });
    // The router's subscription must be registered at the server before the first raw publish.
    await routerBus.nc.flush();
    const run = nuid.next();
    publisher = PublisherProcess.start({
      url,
      namespace,
      run,
      window: opts.window,
      criticalEvery: opts.criticalEvery,
    });
    await publisher.next("ready");
    if (opts.warmup > 0) await drive(publisher, router, 0, opts.warmup);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await drive(publisher, router, opts.warmup, opts.warmup + opts.packets);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    await router.stop();
    const stats = router.stats();

    const normal = await storedMessages(routerBus, "telemetryNormal");
    const emergency = await storedMessages(routerBus, "telemetryEmergency");
    const latencies: number[] = [];
    for (const m of [...normal.messages, ...emergency.messages]) {
      const packet = decode("TelemetryPacket", m.data);
      const index = Number(packet.packetId.slice(run.length + 1));
      const sent = packet.metrics.find((p) => p.name === SENT_AT_METRIC)?.value;
      if (sent === undefined)
        throw new Error(`fan-in bench: stored packet ${packet.packetId} has no ${SENT_AT_METRIC}`);
      if (index >= opts.warmup) latencies.push((Number(m.timestampNanos / 1000n) - sent) / 1000);
    }
    latencies.sort((a, b) => a - b);
    if (latencies.length === 0) throw new Error("fan-in bench: no timed packet found in the streams");

    const published = opts.warmup + opts.packets;
    const total = normal.count + emergency.count;
    const packetsPerSec = opts.packets / (wallMs / 1000);
    const met = packetsPerSec >= FANIN_GOAL_PACKETS_PER_SEC;
    const { url: _url, ...shown } = opts;
    return {
      server: { url, private: server !== undefined },
      machine: { cpus: cpus().length, loadavg1m: round(loadavg()[0] ?? 0) },
      options: shown,
      published,
      stored: { normal: normal.count, emergency: emergency.count, total },
      loss: published - total,
      routed: {
        packetsPerSec: Math.round(packetsPerSec),
        wallMs: round(wallMs),
        cpuUsPerPacket: round((cpu.user + cpu.system) / opts.packets),
      },
      latencyMs: {
        p50: round(percentile(latencies, 50), 3),
        p99: round(percentile(latencies, 99), 3),
        max: round(latencies[latencies.length - 1] as number, 3),
        n: latencies.length,
      },
      router: stats,
      routerEvents: Object.fromEntries(events),
      goal: { packetsPerSec: FANIN_GOAL_PACKETS_PER_SEC, met },
      ok: published === total && met,
    };
  } finally {
    if (publisher !== undefined && publisher.child.exitCode === null) {
      publisher.send({ type: "exit" });
      await publisher.exited;
    }
    await routerBus?.close();
    await server?.stop();
    if (storeDir !== undefined) await rm(storeDir, { recursive: true, force: true });
  }
}
