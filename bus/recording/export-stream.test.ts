import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { type Msg, headers as natsHeaders } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestBus } from "../../test/bus-fixture.ts";
import { exportStream } from "./export-stream.ts";
import { readRecording as readFile } from "./reader.ts";
import { headersOf } from "./recorder.ts";
import { replayRecording } from "./replayer.ts";

const tb = useTestBus("export-test", { namespace: "esper" });
let jsm: JetStreamManager;
let dir: string;
let n = 0;
const tmp = (): string => join(dir, `e${n++}.esperrec`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "esper-export-"));
  // Test setup only: the stream is created with the raw client.
  jsm = await jetstreamManager(tb.bus.nc);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Stored {
  readonly seq: number;
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly msgId: string;
}

async function fillStream(name: string, ns: string, count: number): Promise<Stored[]> {
  await jsm.streams.add({ name, subjects: [`${ns}.>`] });
  const js = jsm.jetstream();
  const stored: Stored[] = [];
  for (let i = 0; i < count; i++) {
    const subject = `${ns}.${i % 3 === 0 ? "b" : "a"}`;
    const payload = Uint8Array.from({ length: i * 11 }, (_, k) => (k * 31 + i) & 0xff);
    const h = natsHeaders();
    h.append("Esper-Priority", String(i % 4));
    const ack = await js.publish(subject, payload, { msgID: `m-${i}`, headers: h });
    stored.push({ seq: ack.seq, subject, payload, msgId: `m-${i}` });
  }
  return stored;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

describe("export a JetStream stream to a recording", () => {
  it("exports every message in stream order with sequence, headers and exact payloads", async () => {
    const before = Date.now();
    const stored = await fillStream("EXP1", "ex1", 10);
    await jsm.streams.deleteMessage("EXP1", 4);
    const kept = stored.filter((m) => m.seq !== 4);
    const out = tmp();
    const summary = await exportStream(tb.bus, { stream: "EXP1", out });
    expect(summary).toMatchObject({ stream: "EXP1", firstSeq: 1, lastSeq: 10, frames: 9 });

    const { header, frames } = await readFile(out);
    expect(header).toMatchObject({
      namespace: "ex1",
      subjects: ["ex1.>"],
      tool: "esper export stream",
      source: { kind: "stream", stream: "EXP1", firstSeq: 1, lastSeq: 10 },
    });
    expect(frames.map((f) => f.streamSeq)).toEqual(kept.map((m) => m.seq));
    expect(frames.map((f) => f.subject)).toEqual(kept.map((m) => m.subject));
    expect(frames.map((f) => hex(f.payload))).toEqual(kept.map((m) => hex(m.payload)));
    expect(frames.map((f) => f.headers["Nats-Msg-Id"])).toEqual(kept.map((m) => [m.msgId]));
    expect(frames[0]?.headers["Esper-Priority"]).toEqual(["0"]);
    expect(frames[0]?.offsetUs).toBe(0);
    for (const [i, f] of frames.entries()) {
      expect(f.receivedAtMs).toBeGreaterThanOrEqual(before - 1000);
      if (i > 0) expect(f.offsetUs).toBeGreaterThanOrEqual(frames[i - 1]?.offsetUs ?? 0);
    }
    expect(await jsm.consumers.list("EXP1").next()).toEqual([]);
  });

  it("exports only the subjects matching the filter", async () => {
    const stored = await fillStream("EXP2", "ex2", 9);
    const out = tmp();
    const summary = await exportStream(tb.bus, { stream: "EXP2", out, subject: "ex2.b" });
    const expected = stored.filter((m) => m.subject === "ex2.b");
    expect(summary.frames).toBe(expected.length);
    const { header, frames } = await readFile(out);
    expect(header.subjects).toEqual(["ex2.b"]);
    expect(frames.map((f) => f.streamSeq)).toEqual(expected.map((m) => m.seq));
  });

  it("writes a header-only file for an empty stream or a filter that matches nothing", async () => {
    await jsm.streams.add({ name: "EXP3", subjects: ["ex3.>"] });
    const empty = tmp();
    expect((await exportStream(tb.bus, { stream: "EXP3", out: empty })).frames).toBe(0);
    expect((await readFile(empty)).frames).toEqual([]);
    await fillStream("EXP4", "ex4", 3);
    const none = tmp();
    expect((await exportStream(tb.bus, { stream: "EXP4", out: none, subject: "ex4.zzz" })).frames).toBe(0);
  });

  it("stops at the last sequence of the call while messages keep arriving", async () => {
    await fillStream("EXP6", "ex6", 300);
    const out = tmp();
    const exporting = exportStream(tb.bus, { stream: "EXP6", out });
    const js = jsm.jetstream();
    for (let i = 0; i < 50; i++) await js.publish("ex6.late", new Uint8Array([i]));
    const summary = await exporting;
    expect(summary.lastSeq).toBeGreaterThanOrEqual(300);
    const { frames } = await readFile(out);
    expect(frames.map((f) => f.streamSeq)).toEqual(Array.from({ length: summary.lastSeq }, (_, i) => i + 1));
  });

  it("names a stream that does not exist", async () => {
    await expect(exportStream(tb.bus, { stream: "NOPE", out: tmp() })).rejects.toThrow(/stream 'NOPE'/);
  });

  it("round-trips: an export replayed into another namespace publishes the same messages in order", async () => {
    const stored = await fillStream("EXP5", "ex5", 8);
    const out = tmp();
    await exportStream(tb.bus, { stream: "EXP5", out });
    const got: { subject: string; payload: string; msgId: string | undefined }[] = [];
    const sub = tb.bus.nc.subscribe("ex5r.>", {
      callback: (_e, m: Msg) => {
        got.push({ subject: m.subject, payload: hex(m.data), msgId: headersOf(m)["Nats-Msg-Id"]?.[0] });
      },
    });
    await tb.bus.nc.flush();
    await replayRecording(tb.bus, out, { speed: "max", remap: { from: "ex5", to: "ex5r" } });
    await tb.bus.nc.flush();
    sub.unsubscribe();
    expect(got).toEqual(
      stored.map((m) => ({
        subject: m.subject.replace("ex5.", "ex5r."),
        payload: hex(m.payload),
        msgId: m.msgId,
      })),
    );
  });
});
