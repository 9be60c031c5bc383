import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection, nuid } from "@nats-io/transport-node";
import { type BusConnection, connectBus } from "../../bus/connection.ts";
import { ensureResources } from "../../bus/jetstream/ensure.ts";
import { publishToStream } from "../../bus/jetstream/publish.ts";
import { startLocalNatsServer } from "../../bus/server/local-nats-server.ts";
import { listenTyped, publish, request, sendTyped, serve, subscribe } from "../../bus/typed.ts";
import { decode, encode } from "../../contracts/codec.ts";
import type { MessageInput } from "../../contracts/registry.ts";
import { subjectFor } from "../../contracts/subjects.ts";
import { statePacketFixture, telemetryFixture } from "../fixtures/messages.ts";
import { round, summarize } from "./stats.ts";

/** Options of the bus benchmark. */
export interface BusBenchOptions {
  /** Messages per core throughput round. */
  readonly messages: number;
  /** Acked JetStream publishes per round. */
  readonly streamMessages: number;
  /** Timed request/reply round trips (after a tenth as many warm-up ones). */
  readonly requests: number;
  /** Rounds per figure; bus and raw alternate, and the median round is reported. */
  readonly rounds: number;
  /** Concurrent unacknowledged JetStream publishes. */
  readonly streamWindow: number;
  /** An existing server to use; default a private nats-server started for the run. */
  readonly url?: string;
}

/** Bus and raw figures of one measurement with their ratio (>1 means the bus is slower). */
export interface Comparison<F> {
  readonly payload: string;
  readonly bytes: number;
  readonly bus: F;
  /** nats.js with the same contracts codec work (encode+validate to send, decode+validate to receive). */
  readonly raw: F;
  /** nats.js sending pre-encoded bytes and not decoding: the transport ceiling, for reference. */
  readonly rawBytes: F;
  /** bus slowdown vs `raw`: raw/bus for throughput, bus/raw for latency. */
  readonly ratio: number | { readonly p50: number; readonly p99: number };
  readonly ratioVsRawBytes: number | { readonly p50: number; readonly p99: number };
}

/** Throughput figure. */
export interface Rate {
  readonly msgsPerSec: number;
}

/** Latency figure. */
export interface Latency {
  readonly p50Us: number;
  readonly p99Us: number;
}

/** The JSON printed by `esper bench bus`. */
export interface BusBenchResult {
  readonly server: { readonly url: string; readonly version: string; readonly private: boolean };
  readonly options: BusBenchOptions;
  readonly corePublishSubscribe: Comparison<Rate>[];
  readonly requestReply: Comparison<Latency>[];
  readonly jetStreamAckedPublish: Comparison<Rate>[];
  readonly goal: number;
  /** Largest bus-vs-raw ratio over every figure. */
  readonly worstRatio: number;
  readonly withinGoal: boolean;
  readonly notes: string[];
}

const GOAL = 1.25;

type Payloads = {
  readonly SystemStatePacket: MessageInput<"SystemStatePacket">;
  readonly TelemetryPacket: MessageInput<"TelemetryPacket">;
};

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
  outcome: "noAction",
  reason: "benchmark",
};

function median<T>(values: T[], key: (v: T) => number): T {
  const sorted = [...values].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor(sorted.length / 2)] as T;
}

/** Waits until `count()` reaches `n`, polling on the event loop. */
async function until(count: () => number, n: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (count() < n) {
    if (Date.now() > deadline) throw new Error(`benchmark stalled: ${count()} of ${n} messages arrived`);
    await new Promise((r) => setImmediate(r));
  }
}

async function publishInBatches(nc: NatsConnection, n: number, send: (i: number) => void): Promise<void> {
  for (let i = 0; i < n; i++) {
    send(i);
    if (i % 500 === 499) await nc.flush();
  }
  await nc.flush();
}

/** Runs the bus benchmark on one server and returns the figures. */
export async function runBusBench(o: BusBenchOptions): Promise<BusBenchResult> {
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
    const core = [
      await coreRound(o, ns, busPub, busSub, rawPub, rawSub, "TelemetryPacket", p.TelemetryPacket),
      await coreRound(o, ns, busPub, busSub, rawPub, rawSub, "SystemStatePacket", p.SystemStatePacket),
    ];
    const rr = [await requestRound(o, ns, busPub, busSub, rawPub, rawSub, p.SystemStatePacket)];
    const js = [
      await streamRound(o, ns, busPub, rawPub, "TelemetryPacket", p.TelemetryPacket),
      await streamRound(o, ns, busPub, rawPub, "SystemStatePacket", p.SystemStatePacket),
    ];
    const ratios = [
      ...core.map((c) => c.ratio as number),
      ...js.map((c) => c.ratio as number),
      ...rr.flatMap((c) => {
        const r = c.ratio as { p50: number; p99: number };
        return [r.p50, r.p99];
      }),
    ];
    const worstRatio = round(Math.max(...ratios), 3);
    return {
      server: { url, version: busPub.nc.info?.version ?? "unknown", private: o.url === undefined },
      options: o,
      corePublishSubscribe: core,
      requestReply: rr,
      jetStreamAckedPublish: js,
      goal: GOAL,
      worstRatio,
      withinGoal: worstRatio <= GOAL,
      notes: [
        "ratio compares bus/ with nats.js doing the same contracts encode/decode+validate; ratioVsRawBytes compares with pre-encoded bytes and no decoding",
        "SystemStatePacket has no core pub/sub subject in the registry, so its core figure uses the bus's typed send/listen path (sendTyped/listenTyped, the code behind publish/subscribe) on a bench subject",
        "TelemetryPacket has no request/reply subject in the registry, so request/reply is measured with SystemStatePacket (tamiyo.evaluate -> TamiyoDecision) only",
        "raw JetStream publishes carry the same Nats-Msg-Id header so the server does the same dedup work",
        "each figure is the median of the rounds, after one discarded warm-up round; bus and raw alternate within a round",
        "bus and raw clients run in this one process on a shared machine: figures are noisy, compare ratios from the same run",
      ],
    };
  } finally {
    for (const c of conns.reverse()) await c.close().catch(() => {});
    await stopServer();
    if (storeDir !== undefined) await rm(storeDir, { recursive: true, force: true });
  }
}

type PayloadName = keyof Payloads;

async function coreRound<P extends PayloadName>(
  o: BusBenchOptions,
  ns: string,
  busPub: BusConnection,
  busSub: BusConnection,
  rawPub: NatsConnection,
  rawSub: NatsConnection,
  name: P,
  msg: Payloads[P],
): Promise<Comparison<Rate>> {
  const bytes =
    name === "TelemetryPacket"
      ? encode("TelemetryPacket", msg as Payloads["TelemetryPacket"])
      : encode("SystemStatePacket", msg as Payloads["SystemStatePacket"]);
  const n = o.messages;
  const stateSubject = `${ns}.bench.state`;
  const measureBus = async (): Promise<Rate> => {
    let got = 0;
    const count = (): void => {
      got++;
    };
    const sub =
      name === "TelemetryPacket"
        ? subscribe(busSub, "telemetryRaw", count, { params: { actor: "bench" } })
        : listenTyped(busSub, stateSubject, "SystemStatePacket", count, {});
    await busSub.nc.flush();
    const t0 = performance.now();
    if (name === "TelemetryPacket") {
      const m = msg as Payloads["TelemetryPacket"];
      await publishInBatches(busPub.nc, n, () =>
        publish(busPub, "telemetryRaw", m, { params: { actor: "bench" } }),
      );
    } else {
      const m = msg as Payloads["SystemStatePacket"];
      await publishInBatches(busPub.nc, n, () =>
        sendTyped(busPub, stateSubject, "SystemStatePacket", m, undefined),
      );
    }
    await until(() => got, n);
    const secs = (performance.now() - t0) / 1000;
    await sub.stop();
    return { msgsPerSec: Math.round(n / secs) };
  };
  const measureRaw = async (withCodec: boolean): Promise<Rate> => {
    const subject =
      name === "TelemetryPacket" ? subjectFor(ns, "telemetryRaw", { actor: "raw" }) : `${ns}.raw.state`;
    let got = 0;
    const sub = rawSub.subscribe(subject, {
      callback: (_e, m) => {
        if (withCodec) decode(name, m.data);
        got++;
      },
    });
    await rawSub.flush();
    const t0 = performance.now();
    await publishInBatches(rawPub, n, () => {
      const data = withCodec ? encodeAs(name, msg) : bytes;
      rawPub.publish(subject, data);
    });
    await until(() => got, n);
    const secs = (performance.now() - t0) / 1000;
    sub.unsubscribe();
    return { msgsPerSec: Math.round(n / secs) };
  };
  return compareRates(name, bytes.byteLength, o.rounds, measureBus, measureRaw);
}

/**
 * Runs `rounds` alternating rounds (after one discarded warm-up round) of the bus, raw-with-codec and
 * raw-bytes measurements and compares the medians.
 */
async function compareRates(
  payload: PayloadName,
  bytes: number,
  rounds: number,
  measureBus: () => Promise<Rate>,
  measureRaw: (withCodec: boolean) => Promise<Rate>,
): Promise<Comparison<Rate>> {
  const results: { bus: Rate; raw: Rate; rawBytes: Rate }[] = [];
  for (let r = -1; r < rounds; r++) {
    const one = { bus: await measureBus(), raw: await measureRaw(true), rawBytes: await measureRaw(false) };
    if (r >= 0) results.push(one);
  }
  const medianOf = (k: "bus" | "raw" | "rawBytes"): Rate =>
    median(
      results.map((x) => x[k]),
      (x) => x.msgsPerSec,
    );
  const bus = medianOf("bus");
  const raw = medianOf("raw");
  const rawBytes = medianOf("rawBytes");
  return {
    payload,
    bytes,
    bus,
    raw,
    rawBytes,
    ratio: round(raw.msgsPerSec / bus.msgsPerSec, 3),
    ratioVsRawBytes: round(rawBytes.msgsPerSec / bus.msgsPerSec, 3),
  };
}

function encodeAs<P extends PayloadName>(name: P, msg: Payloads[P]): Uint8Array {
  return name === "TelemetryPacket"
    ? encode("TelemetryPacket", msg as Payloads["TelemetryPacket"])
    : encode("SystemStatePacket", msg as Payloads["SystemStatePacket"]);
}

async function requestRound(
  o: BusBenchOptions,
  ns: string,
  busReq: BusConnection,
  busRep: BusConnection,
  rawReq: NatsConnection,
  rawRep: NatsConnection,
  msg: Payloads["SystemStatePacket"],
): Promise<Comparison<Latency>> {
  const bytes = encode("SystemStatePacket", msg);
  const decisionBytes = encode("TamiyoDecision", decision);
  const warm = Math.max(10, Math.floor(o.requests / 10));
  const timeLoop = async (one: () => Promise<unknown>): Promise<Latency> => {
    for (let i = 0; i < warm; i++) await one();
    const samples: number[] = [];
    for (let i = 0; i < o.requests; i++) {
      const t0 = performance.now();
      await one();
      samples.push((performance.now() - t0) * 1000);
    }
    const s = summarize(samples);
    return { p50Us: round(s.p50, 1), p99Us: round(s.p99, 1) };
  };
  const measureBus = async (): Promise<Latency> => {
    const sub = serve(busRep, "tamiyoEvaluate", () => decision);
    await busRep.nc.flush();
    const lat = await timeLoop(() => request(busReq, "tamiyoEvaluate", msg, { timeoutMs: 5000 }));
    await sub.stop();
    return lat;
  };
  const measureRaw = async (withCodec: boolean): Promise<Latency> => {
    const subject = `${ns}.raw.evaluate`;
    const sub = rawRep.subscribe(subject, {
      callback: (_e, m) => {
        if (withCodec) {
          decode("SystemStatePacket", m.data);
          m.respond(encode("TamiyoDecision", decision));
        } else m.respond(decisionBytes);
      },
    });
    await rawRep.flush();
    const lat = await timeLoop(async () => {
      const reply = await rawReq.request(subject, withCodec ? encode("SystemStatePacket", msg) : bytes, {
        timeout: 5000,
      });
      if (withCodec) decode("TamiyoDecision", reply.data);
    });
    sub.unsubscribe();
    return lat;
  };
  const rounds: { bus: Latency; raw: Latency; rawBytes: Latency }[] = [];
  for (let r = -1; r < o.rounds; r++) {
    const round = { bus: await measureBus(), raw: await measureRaw(true), rawBytes: await measureRaw(false) };
    if (r >= 0) rounds.push(round);
  }
  const bus = median(
    rounds.map((x) => x.bus),
    (x) => x.p50Us,
  );
  const raw = median(
    rounds.map((x) => x.raw),
    (x) => x.p50Us,
  );
  const rawBytes = median(
    rounds.map((x) => x.rawBytes),
    (x) => x.p50Us,
  );
  return {
    payload: "SystemStatePacket",
    bytes: bytes.byteLength,
    bus,
    raw,
    rawBytes,
    ratio: { p50: round(bus.p50Us / raw.p50Us, 3), p99: round(bus.p99Us / raw.p99Us, 3) },
    ratioVsRawBytes: { p50: round(bus.p50Us / rawBytes.p50Us, 3), p99: round(bus.p99Us / rawBytes.p99Us, 3) },
  };
}

async function streamRound<P extends PayloadName>(
  o: BusBenchOptions,
  ns: string,
  bus: BusConnection,
  rawNc: NatsConnection,
  name: P,
  msg: Payloads[P],
): Promise<Comparison<Rate>> {
  const bytes = encodeAs(name, msg);
  const js = jetstream(rawNc);
  const n = o.streamMessages;
  const windowed = async (send: () => Promise<unknown>): Promise<Rate> => {
    const inFlight = new Set<Promise<unknown>>();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const p = send().finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= o.streamWindow) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    return { msgsPerSec: Math.round(n / ((performance.now() - t0) / 1000)) };
  };
  const subject =
    name === "TelemetryPacket" ? subjectFor(ns, "telemetryNormal") : subjectFor(ns, "statePacket");
  const measureBus = (): Promise<Rate> =>
    name === "TelemetryPacket"
      ? windowed(() => publishToStream(bus, "telemetryNormal", msg as Payloads["TelemetryPacket"]))
      : windowed(() => publishToStream(bus, "statePacket", msg as Payloads["SystemStatePacket"]));
  const measureRaw = (withCodec: boolean): Promise<Rate> =>
    windowed(() => js.publish(subject, withCodec ? encodeAs(name, msg) : bytes, { msgID: nuid.next() }));
  return compareRates(name, bytes.byteLength, o.rounds, measureBus, measureRaw);
}
