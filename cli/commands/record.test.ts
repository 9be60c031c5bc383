import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { type Msg, headers as natsHeaders } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BusConnection, connectBus } from "../../bus/connection.ts";
import { RecordingReader } from "../../bus/recording/reader.ts";
import { startRecorder } from "../../bus/recording/recorder.ts";
import { startNatsServer, type TestNatsServer } from "../../test/nats-server.ts";

const ESPER = join(import.meta.dirname, "../../bin/esper.js");

let server: TestNatsServer;
let conn: BusConnection;
let dir: string;

beforeAll(async () => {
  server = await startNatsServer();
  dir = await mkdtemp(join(tmpdir(), "esper-cli-rec-"));
  conn = await connectBus({ ...server.address, name: "cli-test", namespace: "esper" });
});

afterAll(async () => {
  await conn?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exit: Promise<number | null>;
}

function esper(args: readonly string[]): Run {
  const child = spawn(process.execPath, [ESPER, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const run: Run = {
    child,
    stdout: "",
    stderr: "",
    exit: new Promise((resolve) => child.once("exit", (code) => resolve(code))),
  };
  child.stdout?.on("data", (c: Buffer) => {
    run.stdout += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    run.stderr += c.toString();
  });
  return run;
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/** Records `filter` with the library recorder while `act` runs, until `frames` frames are in. */
async function recordWhile(
  out: string,
  filter: string,
  frames: number,
  act: () => Promise<void>,
): Promise<void> {
  const recorder = await startRecorder(conn, { subjects: [filter], out });
  await act();
  await conn.nc.flush();
  await waitFor(`${frames} recorded frames`, () => recorder.frames === frames);
  await recorder.stop();
}

// Each test spawns up to four CLI processes (tsx start-up each); on a loaded 2-core machine that exceeds 30 s.
describe("esper record / replay / export stream (real CLI processes)", { timeout: 90_000 }, () => {
  it("records until SIGINT, then replays into a remapped namespace", async () => {
    const out = join(dir, "cli.esperrec");
    const rec = esper(["record", "--subjects", "cli1.>", "--out", out, "--nats", server.url]);
    await waitFor("the recorder to subscribe", () => rec.stderr.includes("recording cli1.>"));

    const sent = Array.from({ length: 20 }, (_, i) => ({
      subject: `cli1.${i % 2 ? "seed.report" : "heartbeat.tamiyo"}`,
      payload: Uint8Array.from({ length: i * 3 }, (_, k) => (k + i) & 0xff),
    }));
    for (const m of sent) {
      const h = natsHeaders();
      h.append("Esper-Priority", "2");
      conn.nc.publish(m.subject, m.payload, { headers: h });
    }
    await conn.nc.flush();
    rec.child.kill("SIGINT");
    expect(await rec.exit).toBe(0);
    const summary = JSON.parse(rec.stdout) as { frames: number; stoppedBy: string; out: string };
    expect(summary).toMatchObject({ frames: 20, stoppedBy: "SIGINT", out, drained: true });
    const reader = await RecordingReader.open(out);
    expect(reader.header.namespace).toBe("cli1");
    await reader.close();

    const got: { subject: string; payload: string; priority: string }[] = [];
    const sub = conn.nc.subscribe("cli2.>", {
      callback: (_e, m: Msg) => {
        got.push({
          subject: m.subject,
          payload: hex(m.data),
          priority: m.headers?.get("Esper-Priority") ?? "",
        });
      },
    });
    await conn.nc.flush();
    const rep = esper([
      "replay",
      out,
      "--nats",
      server.url,
      "--speed",
      "max",
      "--remap",
      "cli1=cli2",
      "--json",
    ]);
    expect(await rep.exit).toBe(0);
    expect(JSON.parse(rep.stdout)).toMatchObject({ read: 20, published: 20, aborted: false });
    await waitFor("the replayed messages", () => got.length >= 20);
    sub.unsubscribe();
    expect(got).toEqual(
      sent.map((m) => ({
        subject: m.subject.replace("cli1.", "cli2."),
        payload: hex(m.payload),
        priority: "2",
      })),
    );
  });

  it("exports a stream and reports bad input with a clear message", async () => {
    const jsm = await jetstreamManager(conn.nc);
    await jsm.streams.add({ name: "CLIEXP", subjects: ["cli3.>"] });
    const js = jsm.jetstream();
    for (let i = 0; i < 5; i++) await js.publish(`cli3.x${i}`, new Uint8Array([i]));
    const out = join(dir, "export.esperrec");
    const exp = esper(["export", "stream", "CLIEXP", "--out", out, "--nats", server.url]);
    expect(await exp.exit).toBe(0);
    expect(JSON.parse(exp.stdout)).toMatchObject({ stream: "CLIEXP", firstSeq: 1, lastSeq: 5, frames: 5 });

    const bad = join(dir, "bad.esperrec");
    await writeFile(bad, "definitely not a recording");
    const rep = esper(["replay", bad, "--nats", server.url]);
    expect(await rep.exit).toBe(1);
    expect(rep.stderr).toContain(`${bad}: not an Esper recording (bad magic`);

    const usage = esper(["replay", bad, "--speed", "warp"]);
    expect(await usage.exit).toBe(2);
    expect(usage.stderr).toContain("--speed 'warp'");
  });

  it("replays the whole frames of a truncated file, then exits 1 with a JSON summary naming the byte", async () => {
    const out = join(dir, "truncated.esperrec");
    await recordWhile(out, "cli4.>", 4, async () => {
      for (let i = 0; i < 4; i++) conn.nc.publish("cli4.x", new Uint8Array(20).fill(i));
    });
    const size = (await readFile(out)).length;
    await truncate(out, size - 3);
    const rep = esper(["replay", out, "--nats", server.url, "--speed", "max", "--json"]);
    expect(await rep.exit).toBe(1);
    const summary = JSON.parse(rep.stdout) as { stoppedAt: { offset: number } };
    expect(summary).toMatchObject({
      read: 3,
      published: 3,
      rejected: 0,
      stoppedAt: { frame: 3, truncated: true },
    });
    expect(summary.stoppedAt.offset).toBeLessThan(size - 3);
    expect(rep.stderr).toContain(`truncated record at byte ${summary.stoppedAt.offset}`);
  });

  it("exits 1 and says so when JetStream drops the replay as duplicates, and stores it with --fresh-ids", async () => {
    const jsm = await jetstreamManager(conn.nc);
    await jsm.streams.add({ name: "CLIDD", subjects: ["cli5.>"] });
    const js = jsm.jetstream();
    const out = join(dir, "dedup.esperrec");
    await recordWhile(out, "cli5.>", 3, async () => {
      for (let i = 0; i < 3; i++) await js.publish("cli5.cmd", new Uint8Array([i]), { msgID: `cli5-${i}` });
    });
    const again = esper(["replay", out, "--nats", server.url, "--speed", "max", "--json"]);
    expect(await again.exit).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ published: 3, stored: 0, duplicates: 3 });
    expect(again.stderr).toContain("3 frame(s) were dropped by JetStream as duplicates");
    const fresh = esper(["replay", out, "--nats", server.url, "--speed", "max", "--fresh-ids", "--json"]);
    expect(await fresh.exit).toBe(0);
    expect(JSON.parse(fresh.stdout)).toMatchObject({
      published: 3,
      stored: 3,
      duplicates: 0,
      freshIds: true,
    });
    expect((await jsm.streams.info("CLIDD")).state.messages).toBe(6);
  });

  it("re-issues recorded requests with --requests and prints each reply", async () => {
    const responder = conn.nc.subscribe("cli6.svc", {
      callback: (_e, m: Msg) => void m.respond(new TextEncoder().encode(`re:${m.data.length}`)),
    });
    await conn.nc.flush();
    const out = join(dir, "requests.esperrec");
    await recordWhile(out, "cli6.>", 1, async () => {
      await conn.nc.request("cli6.svc", new Uint8Array(7), { timeout: 2000 });
    });
    const rep = esper(["replay", out, "--nats", server.url, "--speed", "max", "--requests", "--json"]);
    expect(await rep.exit).toBe(0);
    responder.unsubscribe();
    expect(JSON.parse(rep.stdout)).toMatchObject({
      requests: 1,
      replies: [
        {
          frame: 0,
          subject: "cli6.svc",
          outcome: "reply",
          payloadBase64: Buffer.from("re:7").toString("base64"),
        },
      ],
    });
    const text = esper(["replay", out, "--nats", server.url, "--speed", "max", "--requests"]);
    expect(await text.exit).toBe(0);
    expect(text.stdout).toMatch(/^frame #0 request on cli6\.svc: no-responders: /);
    const usage = esper(["replay", out, "--request-timeout-ms", "5"]);
    expect(await usage.exit).toBe(2);
    expect(usage.stderr).toContain("--request-timeout-ms needs --requests");
  });
});
