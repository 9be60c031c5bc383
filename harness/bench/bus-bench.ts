import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { connect, type Msg, type NatsConnection, nuid } from "@nats-io/transport-node";
import { type BusConnection, connectBus } from "../../bus/connection.ts";
import { ensureResources } from "../../bus/jetstream/ensure.ts";
import { publishToStream } from "../../bus/jetstream/publish.ts";
import { startLocalNatsServer } from "../../bus/server/local-nats-server.ts";
import { settlesWithin } from "../../bus/settles-within.ts";
import { listenTyped, publish, request, sendTyped, serve, subscribe } from "../../bus/typed.ts";
import { encode } from "../../contracts/codec.ts";
import { HeaderNames } from "../../contracts/headers.ts";
import type { MessageInput } from "../../contracts/registry.ts";
import { subjectFor } from "../../contracts/subjects.ts";
import { statePacketFixture, telemetryFixture } from "../fixtures/messages.ts";
import { median, pairedRounds, type RatioSpread, ratioSpread, type Side } from "./paired.ts";
import { rawHeaders, rawReceive } from "./raw-client.ts";
import { percentile, round } from "./stats.ts";

/** Options of the bus benchmark. */
export interface BusBenchOptions {
  /** Messages per core pub/sub round. */
  readonly messages: number;
  /** Acked JetStream publishes per round. */
  readonly streamMessages: number;
  /** Timed request/reply round trips per round. */
  readonly requests: number;
  /** Kept rounds per figure; each round measures bus and raw back to back, order swapped every round. */
  readonly rounds: number;
  /** Discarded warm-up rounds before the kept ones. */
  readonly warmup: number;
  /** Concurrent unacknowledged JetStream publishes. */
  readonly streamWindow: number;
  /** An existing server to use; default a private nats-server started for the run. */
  readonly url?: string;
}

/** Throughput figure: wall-clock rate and this process's CPU time (user + system) per message. */
export interface Rate {
  readonly msgsPerSec: number;
  readonly cpuUsPerMsg: number;
}

/** Latency figure: the median of the rounds' p50s, and the p99 of every round-trip of the run. */
export interface Latency {
  readonly p50Us: number;
  readonly p99Us: number;
}

/** One figure: medians of each side and the per-round paired ratios of the bus against raw. */
export interface Comparison<F> {
  readonly payload: string;
  readonly bytes: number;
  readonly bus: F;
  /** nats.js by hand doing the same work: same headers, same codec, same header checks on receipt. */
  readonly raw: F;
  /** nats.js sending pre-encoded bytes without headers and not decoding: the transport ceiling, for reference. */
  readonly rawBytes: F;
  /** Bus slowdown vs `raw` per round: bus/raw CPU per message for throughput, bus/raw p50 for latency. */
  readonly ratio: RatioSpread;
  /** Bus slowdown vs `rawBytes` per round, measured like `ratio`. */
  readonly ratioVsRawBytes: RatioSpread;
}

/** A throughput figure, with the wall-clock ratio per round too. */
export interface RateComparison extends Comparison<Rate> {
  /** raw/bus msgs/s per round (wall clock: on a shared machine mostly the other processes' load). */
  readonly wallRatio: RatioSpread;
}

/** A latency figure with its tail compared apart (pooled over all rounds, not gated). */
export interface LatencyComparison extends Comparison<Latency> {
  /** bus p99 / raw p99 over every round-trip of the run. */
  readonly p99Ratio: number;
}

/** The JSON printed by `esper bench bus`. */
export interface BusBenchResult {
  readonly server: { readonly url: string; readonly version: string; readonly private: boolean };
  readonly options: BusBenchOptions;
  readonly corePublishSubscribe: RateComparison[];
  readonly requestReply: LatencyComparison[];
  readonly jetStreamAckedPublish: RateComparison[];
  /** Largest acceptable median paired ratio. */
  readonly goal: number;
  /** Largest median paired ratio over every figure (request/reply: p50). */
  readonly worstRatio: number;
  readonly withinGoal: boolean;
  readonly seconds: number;
  readonly notes: string[];
}

const GOAL = 1.15;
const STALL_MS = 60_000;

type Payloads = {
  readonly SystemStatePacket: MessageInput<"SystemStatePacket">;
  readonly TelemetryPacket: MessageInput<"TelemetryPacket">;
};
type PayloadName = keyof Payloads;

/** Fixtures of about 2 KiB (6 seed states) and 512 B (4 metrics). */
function payloads(): Payloads {
  return { SystemStatePacket: statePacketFixture(6), TelemetryPacket: telemetryFixture(4) };
}

const decision: MessageInput<"TamiyoDecision"> = {
  packetId: "run-0001-epoch-12",
  decisionId: "d-1",
  trainingRunId: "run-0001",
  policyVersion: "bench",
  latencyMs: 0.1,
  latencies: { policyMs: 0.05, riskMs: 0.01, commandMs: 0 },
  risk: { score: 0, vetoes: [], downgrades: [], annotations: [], conservative: false },
  outcome: "noAction",
  reason: "benchmark",
};

function encodeAs<P extends PayloadName>(name: P, msg: Payloads[P]): Uint8Array {
  return name === "TelemetryPacket"
    ? encode("TelemetryPacket", msg as Payloads["TelemetryPacket"])
    : encode("SystemStatePacket", msg as Payloads["SystemStatePacket"]);
}

function priorityOf<P extends PayloadName>(msg: Payloads[P]): number | undefined {
  const p = (msg as { priority?: unknown }).priority;
  return typeof p === "number" ? p : undefined;
}

/** A counter of arrivals that resolves `all` at the `n`th. */
function arrivals(n: number): { hit(): void; count(): number; all: Promise<void> } {
  let got = 0;
  let resolve = (): void => {};
  const all = new Promise<void>((r) => {
    resolve = r;
  });
  return {
    hit() {
      if (++got === n) resolve();
    },
    count: () => got,
    all,
  };
}

async function waitAll(a: { count(): number; all: Promise<void> }, n: number): Promise<void> {
  if (!(await settlesWithin(a.all, STALL_MS)))
    throw new Error(`benchmark stalled: ${a.count()} of ${n} messages arrived`);
}

async function publishInBatches(nc: NatsConnection, n: number, send: () => void): Promise<void> {
  for (let i = 0; i < n; i++) {
    send();
    if (i % 500 === 499) await nc.flush();
  }
  await nc.flush();
}

/** Runs the bus benchmark on one server and returns the figures. */
export async function runBusBench(o: BusBenchOptions): Promise<BusBenchResult> {
  const started = performance.now();
  let storeDir: string | undefined;
  let stopServer = async (): Promise<void> => {};
  let url = o.url;
  if (url === undefined) {
    storeDir = await mkdtemp(join(tmpdir(), "esper-bench-bus-"));
    const server = await startLocalNatsServer({ storeDir });
    url = server.url;
    stopServer = () => server.stop();
  }
  const ns = `bench${nuid.next().slice(-6).toLowerCase()}`;
  const conns: { close(): Promise<void> }[] = [];
  try {
    const busPub = await connectBus({ servers: url, name: "bench-bus-pub", namespace: ns });
    const busSub = await connectBus({ servers: url, name: "bench-bus-sub", namespace: ns });
    const rawPub = await connect({ servers: url, name: "bench-raw-pub" });
    const rawSub = await connect({ servers: url, name: "bench-raw-sub" });
    conns.push(busPub, busSub, { close: () => rawPub.drain() }, { close: () => rawSub.drain() });
    await ensureResources(busPub);
    const p = payloads();
    const pair = { ns, busPub, busSub, rawPub, rawSub };
    const core = [
      await coreFigure(o, pair, "TelemetryPacket", p.TelemetryPacket),
      await coreFigure(o, pair, "SystemStatePacket", p.SystemStatePacket),
    ];
    const rr = [await requestFigure(o, pair, p.SystemStatePacket)];
    const js = [
      await streamFigure(o, pair, "TelemetryPacket", p.TelemetryPacket),
      await streamFigure(o, pair, "SystemStatePacket", p.SystemStatePacket),
    ];
    const worstRatio = Math.max(...[...core, ...rr, ...js].map((c) => c.ratio.median));
    return {
      server: { url, version: busPub.nc.info?.version ?? "unknown", private: o.url === undefined },
      options: o,
      corePublishSubscribe: core,
      requestReply: rr,
      jetStreamAckedPublish: js,
      goal: GOAL,
      worstRatio,
      withinGoal: worstRatio <= GOAL,
      seconds: round((performance.now() - started) / 1000, 1),
      notes: [
        "ratio: per-round paired bus slowdown vs raw; median, quartiles, range and each round; worstRatio and the goal use the medians",
        "throughput ratio: bus/raw CPU time of this process (user + system, publisher and subscriber both run here) per message; wallRatio: raw/bus msgs/s per round, reported, not gated (on a shared machine it mostly measures the other processes)",
        "request/reply ratio: bus/raw p50 round-trip per round",
        "raw is nats.js by hand sending the same wire messages: the bus's five headers built with headers()+set, contracts encode+validate, and on receipt the type/version header checks and decode+validate",
        "rawBytes is nats.js sending pre-encoded bytes without headers and not decoding (the transport ceiling, for reference)",
        "each round measures bus and raw back to back, bus first in even rounds and raw first in odd ones, then rawBytes; warm-up rounds are discarded",
        "request/reply p99: pooled over every round-trip of the run, compared apart (p99Ratio), not gated",
        "SystemStatePacket has no core pub/sub subject in the registry, so its core figure uses the bus's typed send/listen path (sendTyped/listenTyped, the code behind publish/subscribe) on a bench subject",
        "bus and raw clients run in this one process on a shared machine: compare ratios from the same run",
      ],
    };
  } finally {
    for (const c of conns.reverse()) await c.close().catch(() => {});
    await stopServer();
    if (storeDir !== undefined) await rm(storeDir, { recursive: true, force: true });
  }
}

interface Pair {
  readonly ns: string;
  readonly busPub: BusConnection;
  readonly busSub: BusConnection;
  readonly rawPub: NatsConnection;
  readonly rawSub: NatsConnection;
}

/** Medians of each side's rates and the per-round ratios of CPU per message (bus/raw) and wall rate (raw/bus). */
function compareRates(payload: string, bytes: number, got: Record<Side, Rate[]>): RateComparison {
  const mid = (side: Side, k: keyof Rate): number => median(got[side].map((r) => r[k]).sort((a, b) => a - b));
  const rate = (side: Side): Rate => ({
    msgsPerSec: Math.round(mid(side, "msgsPerSec")),
    cpuUsPerMsg: round(mid(side, "cpuUsPerMsg"), 2),
  });
  const cpu = (side: Side): number[] =>
    got.bus.map((b, i) => b.cpuUsPerMsg / (got[side][i] as Rate).cpuUsPerMsg);
  return {
    payload,
    bytes,
    bus: rate("bus"),
    raw: rate("raw"),
    rawBytes: rate("rawBytes"),
    ratio: ratioSpread(cpu("raw")),
    ratioVsRawBytes: ratioSpread(cpu("rawBytes")),
    wallRatio: ratioSpread(got.bus.map((b, i) => (got.raw[i] as Rate).msgsPerSec / b.msgsPerSec)),
  };
}

/** Runs `body` and returns its {@link Rate} over `n` messages. */
async function timed(n: number, body: () => Promise<void>): Promise<Rate> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await body();
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { msgsPerSec: n / secs, cpuUsPerMsg: (cpu.user + cpu.system) / n };
}

async function coreFigure<P extends PayloadName>(
  o: BusBenchOptions,
  pair: Pair,
  name: P,
  msg: Payloads[P],
): Promise<RateComparison> {
  const { ns, busPub, busSub, rawPub, rawSub } = pair;
  const bytes = encodeAs(name, msg);
  const priority = priorityOf(msg);
  const n = o.messages;
  const busSubject = `${ns}.bench.state`;
  const rawSubject =
    name === "TelemetryPacket" ? subjectFor(ns, "telemetryRaw", { actor: "raw" }) : `${ns}.raw.state`;
  const measureBus = async (): Promise<Rate> => {
    const a = arrivals(n);
    const sub =
      name === "TelemetryPacket"
        ? subscribe(busSub, "telemetryRaw", a.hit, { params: { actor: "bench" } })
        : listenTyped(busSub, busSubject, "SystemStatePacket", a.hit, {});
    await busSub.nc.flush();
    const rate = await timed(n, async () => {
      if (name === "TelemetryPacket") {
        const m = msg as Payloads["TelemetryPacket"];
        await publishInBatches(busPub.nc, n, () =>
          publish(busPub, "telemetryRaw", m, { params: { actor: "bench" } }),
        );
      } else {
        const m = msg as Payloads["SystemStatePacket"];
        await publishInBatches(busPub.nc, n, () =>
          sendTyped(busPub, busSubject, "SystemStatePacket", m, undefined),
        );
      }
      await waitAll(a, n);
    });
    await sub.stop();
    return rate;
  };
  const measureRaw = async (withCodec: boolean): Promise<Rate> => {
    const a = arrivals(n);
    const sub = rawSub.subscribe(rawSubject, {
      callback: (_e, m) => {
        if (withCodec) rawReceive(name, m);
        a.hit();
      },
    });
    await rawSub.flush();
    const rate = await timed(n, async () => {
      await publishInBatches(rawPub, n, () => {
        if (withCodec)
          rawPub.publish(rawSubject, encodeAs(name, msg), { headers: rawHeaders(name, priority) });
        else rawPub.publish(rawSubject, bytes);
      });
      await waitAll(a, n);
    });
    sub.unsubscribe();
    return rate;
  };
  const got = await pairedRounds(o.rounds, o.warmup, (side) =>
    side === "bus" ? measureBus() : measureRaw(side === "raw"),
  );
  return compareRates(name, bytes.byteLength, got);
}

async function requestFigure(
  o: BusBenchOptions,
  pair: Pair,
  msg: Payloads["SystemStatePacket"],
): Promise<LatencyComparison> {
  const { ns, busPub: busReq, busSub: busRep, rawPub: rawReq, rawSub: rawRep } = pair;
  const bytes = encode("SystemStatePacket", msg);
  const decisionBytes = encode("TamiyoDecision", decision);
  const timeLoop = async (one: () => Promise<unknown>): Promise<number[]> => {
    const samples: number[] = [];
    for (let i = 0; i < o.requests; i++) {
      const t0 = performance.now();
      await one();
      samples.push((performance.now() - t0) * 1000);
    }
    return samples;
  };
  const measureBus = async (): Promise<number[]> => {
    const sub = serve(busRep, "tamiyoEvaluate", () => decision);
    await busRep.nc.flush();
    const samples = await timeLoop(() => request(busReq, "tamiyoEvaluate", msg, { timeoutMs: 5000 }));
    await sub.stop();
    return samples;
  };
  const subject = `${ns}.raw.evaluate`;
  const answerRaw = (m: Msg): void => {
    rawReceive("SystemStatePacket", m);
    const asked = m.headers?.get(HeaderNames.correlationId) || m.headers?.get(HeaderNames.messageId);
    m.respond(encode("TamiyoDecision", decision), {
      headers: rawHeaders("TamiyoDecision", undefined, asked || undefined),
    });
  };
  const measureRaw = async (withCodec: boolean): Promise<number[]> => {
    const sub = rawRep.subscribe(subject, {
      callback: (_e, m) => {
        if (withCodec) answerRaw(m);
        else m.respond(decisionBytes);
      },
    });
    await rawRep.flush();
    const samples = await timeLoop(async () => {
      if (!withCodec) return rawReq.request(subject, bytes, { timeout: 5000 });
      const reply = await rawReq.request(subject, encode("SystemStatePacket", msg), {
        timeout: 5000,
        headers: rawHeaders("SystemStatePacket"),
      });
      if (reply.headers?.get("Nats-Service-Error")) throw new Error("raw responder failed");
      return rawReceive("TamiyoDecision", reply);
    });
    sub.unsubscribe();
    return samples;
  };
  const got = await pairedRounds(o.rounds, o.warmup, (side) =>
    side === "bus" ? measureBus() : measureRaw(side === "raw"),
  );
  const p50 = (s: number[]): number =>
    percentile(
      [...s].sort((a, b) => a - b),
      50,
    );
  const side = (k: Side): Latency => ({
    p50Us: round(median(got[k].map(p50).sort((a, b) => a - b)), 1),
    p99Us: round(
      percentile(
        got[k].flat().sort((a, b) => a - b),
        99,
      ),
      1,
    ),
  });
  const per = (k: Side): number[] => got.bus.map((b, i) => p50(b) / p50(got[k][i] as number[]));
  const bus = side("bus");
  const raw = side("raw");
  return {
    payload: "SystemStatePacket",
    bytes: bytes.byteLength,
    bus,
    raw,
    rawBytes: side("rawBytes"),
    ratio: ratioSpread(per("raw")),
    ratioVsRawBytes: ratioSpread(per("rawBytes")),
    p99Ratio: round(bus.p99Us / raw.p99Us, 3),
  };
}

async function streamFigure<P extends PayloadName>(
  o: BusBenchOptions,
  pair: Pair,
  name: P,
  msg: Payloads[P],
): Promise<RateComparison> {
  const { ns, busPub: bus, rawPub } = pair;
  const bytes = encodeAs(name, msg);
  const priority = priorityOf(msg);
  const js = jetstream(rawPub);
  const n = o.streamMessages;
  const windowed = (send: () => Promise<unknown>): Promise<Rate> =>
    timed(n, async () => {
      const inFlight = new Set<Promise<unknown>>();
      for (let i = 0; i < n; i++) {
        const p = send().finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= o.streamWindow) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    });
  const stateRun = (): { run: string } => ({ run: (msg as Payloads["SystemStatePacket"]).trainingRunId });
  const subject =
    name === "TelemetryPacket"
      ? subjectFor(ns, "telemetryNormal")
      : subjectFor(ns, "statePacket", stateRun());
  const measureBus = (): Promise<Rate> =>
    name === "TelemetryPacket"
      ? windowed(() => publishToStream(bus, "telemetryNormal", msg as Payloads["TelemetryPacket"]))
      : windowed(() =>
          publishToStream(bus, "statePacket", msg as Payloads["SystemStatePacket"], { params: stateRun() }),
        );
  const measureRaw = (withCodec: boolean): Promise<Rate> =>
    windowed(() => {
      if (!withCodec) return js.publish(subject, bytes, { msgID: nuid.next() });
      const h = rawHeaders(name, priority);
      return js.publish(subject, encodeAs(name, msg), { msgID: h.get(HeaderNames.messageId), headers: h });
    });
  const got = await pairedRounds(o.rounds, o.warmup, (side) =>
    side === "bus" ? measureBus() : measureRaw(side === "raw"),
  );
  return compareRates(name, bytes.byteLength, got);
}
