import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Msg, headers as natsHeaders } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { type BusConnection, connectBus } from "../connection.ts";
import { headersOf, startRecorder } from "./recorder.ts";
import { replayRecording } from "./replayer.ts";

const fixture = useNatsServer();
let pub: BusConnection;
let rec: BusConnection;
let sub: BusConnection;
let dir: string;
let n = 0;
const tmp = (): string => join(dir, `r${n++}.esperrec`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "esper-rec-"));
  const open = (name: string) => connectBus({ ...fixture.server.address, name, namespace: "esper" });
  [pub, rec, sub] = await Promise.all([open("rr-pub"), open("rr-rec"), open("rr-sub")]);
});

afterAll(async () => {
  await Promise.all([pub?.close(), rec?.close(), sub?.close()]);
  await rm(dir, { recursive: true, force: true });
});

/** Seeded xorshift32 bytes, so payloads are reproducible. */
function seededBytes(seed: number, length: number): Uint8Array {
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

interface Sent {
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly headers: Record<string, string[]>;
}

/** A mix of subjects, sizes (including empty) and headers (including multi-valued) under namespace `ns`. */
function workload(ns: string, count: number): Sent[] {
  return Array.from({ length: count }, (_, i) => ({
    subject: `${ns}.${["seed.report", "telemetry.raw.tolaria", "command.kasmina"][i % 3]}`,
    payload: seededBytes(i + 1, i % 5 === 0 ? 0 : 1 + ((i * 37) % 700)),
    headers: i % 2 === 0 ? {} : { "Esper-Priority": [String(i % 4)], "X-Multi": ["a", `b${i}`] },
  }));
}

function publish(conn: BusConnection, m: Sent): void {
  const names = Object.keys(m.headers);
  if (names.length === 0) conn.nc.publish(m.subject, m.payload);
  else {
    const h = natsHeaders();
    for (const k of names) for (const v of m.headers[k] ?? []) h.append(k, v);
    conn.nc.publish(m.subject, m.payload, { headers: h });
  }
}

interface Received extends Sent {
  readonly atNs: bigint;
}

/** Subscribes on the test's own connection and collects what arrives, with a monotonic arrival time. */
async function collect(filter: string): Promise<{ got: Received[]; stop(): void }> {
  const got: Received[] = [];
  const s = sub.nc.subscribe(filter, {
    callback: (_err, m: Msg) => {
      got.push({ subject: m.subject, payload: m.data, headers: headersOf(m), atNs: process.hrtime.bigint() });
    },
  });
  await sub.nc.flush();
  return { got, stop: () => s.unsubscribe() };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const plain = (m: Sent) => ({
  subject: m.subject,
  payload: Buffer.from(m.payload).toString("hex"),
  headers: m.headers,
});

/** Records `msgs` published with `gapsMs[i]` before message i+1; returns the file. */
async function recordWorkload(
  ns: string,
  msgs: readonly Sent[],
  gapsMs: readonly number[] = [],
): Promise<string> {
  const file = tmp();
  const recorder = await startRecorder(rec, { subjects: [`${ns}.>`], out: file });
  for (const [i, m] of msgs.entries()) {
    publish(pub, m);
    const gap = gapsMs[i];
    if (gap !== undefined) {
      await pub.nc.flush();
      await new Promise((r) => setTimeout(r, gap));
    }
  }
  await pub.nc.flush();
  await waitFor("the recorder to receive every message", () => recorder.frames === msgs.length);
  const summary = await recorder.stop();
  expect(summary).toMatchObject({ frames: msgs.length, drained: true });
  return file;
}

describe("record → replay against a real nats-server", () => {
  it("reproduces the same subjects, payload bytes, headers and order", async () => {
    const sent = workload("rr1", 60);
    const file = await recordWorkload("rr1", sent);
    const sink = await collect("rr1.>");
    const summary = await replayRecording(pub, file, { speed: "max" });
    await waitFor("every replayed message", () => sink.got.length >= sent.length);
    sink.stop();
    expect(summary).toMatchObject({
      read: 60,
      published: 60,
      skippedByFilter: 0,
      skippedByRemap: 0,
      aborted: false,
    });
    expect(sink.got.map(plain)).toEqual(sent.map(plain));
  });

  it("keeps the relative timing within 10% at speed original, and compresses it at max and at a factor", async () => {
    const gaps = [50, 150, 80, 120, 60, 140, 100, 90];
    const sent = workload("rr2", gaps.length + 1);
    const file = await recordWorkload("rr2", sent, gaps);
    const recordedMs = gaps.reduce((a, b) => a + b, 0);

    const span = async (speed: "original" | "max" | number): Promise<number> => {
      const sink = await collect("rr2.>");
      await replayRecording(pub, file, { speed });
      await waitFor("every replayed message", () => sink.got.length >= sent.length);
      sink.stop();
      expect(sink.got.map(plain)).toEqual(sent.map(plain));
      const first = sink.got[0]?.atNs ?? 0n;
      const last = sink.got[sink.got.length - 1]?.atNs ?? 0n;
      return Number(last - first) / 1e6;
    };

    const original = await span("original");
    expect(original / recordedMs).toBeGreaterThan(0.9);
    expect(original / recordedMs).toBeLessThan(1.1);
    const doubled = await span(2);
    expect(doubled / (recordedMs / 2)).toBeGreaterThan(0.9);
    expect(doubled / (recordedMs / 2)).toBeLessThan(1.1);
    expect(await span("max")).toBeLessThan(recordedMs * 0.2);
  });

  it("remaps the namespace, publishing nothing under the old one", async () => {
    const sent = workload("rr3", 12);
    const file = await recordWorkload("rr3", sent);
    const oldNs = await collect("rr3.>");
    const newNs = await collect("rr3b.>");
    const summary = await replayRecording(pub, file, { speed: "max", remap: { from: "rr3", to: "rr3b" } });
    await waitFor("every remapped message", () => newNs.got.length >= sent.length);
    await sub.nc.flush();
    oldNs.stop();
    newNs.stop();
    expect(summary.published).toBe(12);
    expect(oldNs.got).toHaveLength(0);
    expect(newNs.got.map(plain)).toEqual(
      sent.map((m) => plain({ ...m, subject: m.subject.replace(/^rr3\./, "rr3b.") })),
    );
  });

  it("skips and counts frames outside the remap namespace", async () => {
    const file = tmp();
    const recorder = await startRecorder(rec, { subjects: ["rr4.>", "rr4x.>"], out: file });
    publish(pub, { subject: "rr4.a", payload: new Uint8Array([1]), headers: {} });
    publish(pub, { subject: "rr4x.a", payload: new Uint8Array([2]), headers: {} });
    publish(pub, { subject: "rr4.b", payload: new Uint8Array([3]), headers: {} });
    await pub.nc.flush();
    await waitFor("three frames", () => recorder.frames === 3);
    await recorder.stop();
    const sink = await collect("rr4y.>");
    const summary = await replayRecording(pub, file, { speed: "max", remap: { from: "rr4", to: "rr4y" } });
    await waitFor("two remapped messages", () => sink.got.length >= 2);
    sink.stop();
    expect(summary).toMatchObject({ read: 3, published: 2, skippedByRemap: 1 });
    expect(sink.got.map((m) => m.subject)).toEqual(["rr4y.a", "rr4y.b"]);
  });

  it("publishes only frames matching the subject filter", async () => {
    const sent = workload("rr5", 15);
    const file = await recordWorkload("rr5", sent);
    const sink = await collect("rr5.>");
    const summary = await replayRecording(pub, file, { speed: "max", subject: "rr5.telemetry.*.*" });
    const expected = sent.filter((m) => m.subject === "rr5.telemetry.raw.tolaria");
    await waitFor("the filtered messages", () => sink.got.length >= expected.length);
    await sub.nc.flush();
    sink.stop();
    expect(summary).toMatchObject({
      read: 15,
      published: expected.length,
      skippedByFilter: 15 - expected.length,
    });
    expect(sink.got.map(plain)).toEqual(expected.map(plain));
  });

  it("stops between frames when aborted", async () => {
    const sent = workload("rr6", 3);
    const file = await recordWorkload("rr6", sent, [200, 200]);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const summary = await replayRecording(pub, file, { speed: "original", signal: abort.signal });
    expect(summary.aborted).toBe(true);
    expect(summary.published).toBe(1);
  });
});
