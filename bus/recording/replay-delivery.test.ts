import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiscardPolicy, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { type Msg, headers as natsHeaders } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { type BusConnection, connectBus } from "../connection.ts";
import type { RecordedFrame } from "./format.ts";
import { readRecording } from "./reader.ts";
import { startRecorder } from "./recorder.ts";
import { encodeRecord } from "./records.ts";
import type { ReplayedReply } from "./replay-sender.ts";
import { ReplayIncompleteError, type ReplaySummary, replayRecording } from "./replayer.ts";

const fixture = useNatsServer();
let pub: BusConnection;
let rec: BusConnection;
let sub: BusConnection;
let jsm: JetStreamManager;
let dir: string;
let n = 0;
const tmp = (): string => join(dir, `d${n++}.esperrec`);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "esper-replay-delivery-"));
  const open = (name: string) => connectBus({ ...fixture.server.address, name, namespace: "esper" });
  [pub, rec, sub] = await Promise.all([open("rd-pub"), open("rd-rec"), open("rd-sub")]);
  // Test setup only: streams are created with the raw client.
  jsm = await jetstreamManager(sub.nc);
});

afterAll(async () => {
  await Promise.all([pub?.close(), rec?.close(), sub?.close()]);
  await rm(dir, { recursive: true, force: true });
});

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Records `filter` while `act` runs; returns the file once `frames` frames are recorded. */
async function recordWhile(filter: string, frames: number, act: () => Promise<void>): Promise<string> {
  const file = tmp();
  const recorder = await startRecorder(rec, { subjects: [filter], out: file });
  await act();
  await pub.nc.flush();
  await waitFor(`${frames} recorded frames`, () => recorder.frames === frames);
  await recorder.stop();
  return file;
}

async function replayFailure(p: Promise<ReplaySummary>): Promise<ReplayIncompleteError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ReplayIncompleteError);
  return err as ReplayIncompleteError;
}

describe("replay of requests", () => {
  it("records the reply subject and re-issues a recorded request as a request, reporting the reply", async () => {
    const echo = sub.nc.subscribe("rq1.svc.echo", {
      callback: (_e, m: Msg) => {
        const h = natsHeaders();
        h.set("Reply-Of", m.headers?.get("Esper-Correlation") ?? "none");
        m.respond(text(`echo:${str(m.data)}`), { headers: h });
      },
    });
    const gone = sub.nc.subscribe("rq1.svc.gone", { callback: (_e, m: Msg) => void m.respond(text("x")) });
    await sub.nc.flush();
    const file = await recordWhile("rq1.>", 3, async () => {
      const h = natsHeaders();
      h.set("Esper-Correlation", "c-1");
      expect(
        str((await pub.nc.request("rq1.svc.echo", text("one"), { headers: h, timeout: 2000 })).data),
      ).toBe("echo:one");
      await pub.nc.request("rq1.svc.gone", text("two"), { timeout: 2000 });
      pub.nc.publish("rq1.event", text("three"));
    });
    gone.unsubscribe();
    await sub.nc.flush();

    const { frames } = await readRecording(file);
    expect(frames.map((f) => f.subject)).toEqual(["rq1.svc.echo", "rq1.svc.gone", "rq1.event"]);
    expect(frames[0]?.reply).toMatch(/^_INBOX\./);
    expect(frames[1]?.reply).toMatch(/^_INBOX\./);
    expect(frames[2]?.reply).toBeNull();

    const replies: ReplayedReply[] = [];
    const summary = await replayRecording(pub, file, {
      speed: "max",
      requests: { timeoutMs: 2000, onReply: (r) => replies.push(r) },
    });
    echo.unsubscribe();
    expect(summary).toMatchObject({ read: 3, published: 3, requests: 2, replies: 1 });
    expect(replies).toHaveLength(2);
    const [answered, unanswered] = [...replies].sort((a, b) => a.frame - b.frame);
    expect(answered).toMatchObject({ frame: 0, subject: "rq1.svc.echo", outcome: "reply" });
    expect(answered?.outcome === "reply" ? str(answered.payload) : null).toBe("echo:one");
    expect(answered?.outcome === "reply" ? answered.headers["Reply-Of"] : null).toEqual(["c-1"]);
    expect(unanswered).toMatchObject({ frame: 1, subject: "rq1.svc.gone", outcome: "no-responders" });
  });

  it("without request replay, publishes a recorded request with its recorded reply subject", async () => {
    const responder = sub.nc.subscribe("rq2.svc", { callback: (_e, m: Msg) => void m.respond(text("ok")) });
    await sub.nc.flush();
    const file = await recordWhile("rq2.>", 1, async () => {
      await pub.nc.request("rq2.svc", text("q"), { timeout: 2000 });
    });
    responder.unsubscribe();
    const recorded = (await readRecording(file)).frames[0]?.reply;
    expect(recorded).toMatch(/^_INBOX\./);
    const seen: (string | undefined)[] = [];
    const s = sub.nc.subscribe("rq2.svc", { callback: (_e, m: Msg) => void seen.push(m.reply) });
    await sub.nc.flush();
    const summary = await replayRecording(pub, file, { speed: "max" });
    await waitFor("the replayed request", () => seen.length === 1);
    s.unsubscribe();
    expect(summary).toMatchObject({ published: 1, requests: 0 });
    expect(seen).toEqual([recorded]);
  });
});

describe("replay into a JetStream stream within its duplicate window", () => {
  async function recordStreamPublishes(stream: string, ns: string, count: number): Promise<string> {
    await jsm.streams.add({ name: stream, subjects: [`${ns}.>`], duplicate_window: 60_000_000_000 });
    const js = jsm.jetstream();
    return recordWhile(`${ns}.>`, count, async () => {
      for (let i = 0; i < count; i++) {
        const h = natsHeaders();
        h.set("Esper-Priority", String(i % 3));
        await js.publish(`${ns}.cmd`, text(`m${i}`), { msgID: `${ns}-id-${i}`, headers: h });
      }
    });
  }

  async function storedIds(stream: string): Promise<string[]> {
    const info = await jsm.streams.info(stream);
    const ids: string[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq });
      ids.push(m?.header.get("Nats-Msg-Id") ?? "");
    }
    return ids;
  }

  it("counts and reports the frames the stream drops as duplicates when the ids are reused", async () => {
    const file = await recordStreamPublishes("DD1", "dd1", 5);
    const summary = await replayRecording(pub, file, { speed: "max" });
    expect(summary).toMatchObject({ published: 5, stored: 0, duplicates: 5, rejected: 0, freshIds: false });
    expect((await jsm.streams.info("DD1")).state.messages).toBe(5);
  });

  it("stores every frame again under new unique ids with fresh ids", async () => {
    const file = await recordStreamPublishes("DD2", "dd2", 5);
    const summary = await replayRecording(pub, file, { speed: "max", freshIds: true });
    expect(summary).toMatchObject({ published: 5, stored: 5, duplicates: 0, rejected: 0, freshIds: true });
    const ids = await storedIds("DD2");
    expect(ids).toHaveLength(10);
    const originals = ids.slice(0, 5);
    const fresh = ids.slice(5);
    expect(originals).toEqual([0, 1, 2, 3, 4].map((i) => `dd2-id-${i}`));
    expect(new Set(fresh).size).toBe(5);
    for (const id of fresh) {
      expect(id).not.toBe("");
      expect(originals).not.toContain(id);
    }
    const replayed = await jsm.streams.getMessage("DD2", { seq: 7 });
    expect(replayed?.header.get("Esper-Priority")).toBe("1");
    expect(replayed === null ? null : str(replayed.data)).toBe("m1");
  });

  it("counts and names the frames a stream rejects", async () => {
    const file = await recordStreamPublishes("DD3", "dd3", 3);
    await jsm.streams.update("DD3", { max_msgs: 4, discard: DiscardPolicy.New });
    const summary = await replayRecording(pub, file, { speed: "max", freshIds: true });
    expect(summary).toMatchObject({ published: 3, stored: 1, duplicates: 0, rejected: 2 });
    expect(summary.rejections.map((r) => r.frame)).toEqual([1, 2]);
    expect(summary.rejections[0]?.reason).toMatch(/maximum messages/);
  });
});

describe("replay of a damaged file", () => {
  async function recordNumbered(ns: string, count: number): Promise<string> {
    return recordWhile(`${ns}.>`, count, async () => {
      for (let i = 0; i < count; i++) pub.nc.publish(`${ns}.n`, text(`frame-payload-${i}`));
    });
  }

  async function collect(filter: string): Promise<{ got: string[]; stop(): void }> {
    const got: string[] = [];
    const s = sub.nc.subscribe(filter, { callback: (_e, m: Msg) => void got.push(str(m.data)) });
    await sub.nc.flush();
    return { got, stop: () => s.unsubscribe() };
  }

  it("replays every whole frame of a truncated file, then fails with a summary naming the byte", async () => {
    const file = await recordNumbered("tr1", 10);
    const { frames } = await readRecording(file);
    const size = (await readFile(file)).length;
    const lastStart = size - encodeRecord(frames[9] as RecordedFrame).length;
    await truncate(file, size - 5);
    const sink = await collect("tr1.>");
    const err = await replayFailure(replayRecording(pub, file, { speed: "max" }));
    await sub.nc.flush();
    sink.stop();
    expect(err.summary).toMatchObject({
      read: 9,
      published: 9,
      rejected: 0,
      stoppedAt: { frame: 9, offset: lastStart, truncated: true },
    });
    expect(err.message).toMatch(new RegExp(`truncated record at byte ${lastStart} after publishing 9 of 9`));
    expect(sink.got).toEqual(Array.from({ length: 9 }, (_, i) => `frame-payload-${i}`));
  });

  it("stops at a frame whose checksum does not match, after replaying the frames before it", async () => {
    const file = await recordNumbered("tr2", 6);
    const bytes = await readFile(file);
    const at = bytes.indexOf(Buffer.from("frame-payload-3"));
    bytes[at + 2] = (bytes[at + 2] ?? 0) ^ 0x20;
    await writeFile(file, bytes);
    const sink = await collect("tr2.>");
    const err = await replayFailure(replayRecording(pub, file, { speed: "max" }));
    await sub.nc.flush();
    sink.stop();
    expect(err.summary).toMatchObject({ read: 3, published: 3, stoppedAt: { frame: 3, truncated: false } });
    expect(err.summary.stoppedAt?.reason).toMatch(/frame #3 checksum mismatch/);
    expect(sink.got).toEqual(["frame-payload-0", "frame-payload-1", "frame-payload-2"]);
  });
});
