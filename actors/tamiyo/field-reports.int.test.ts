import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BusConnection, connectBus } from "../../bus/connection.ts";
import { jetStreamManagerOf } from "../../bus/jetstream/context.ts";
import { streamName } from "../../bus/jetstream/declarations.ts";
import { ensureResources } from "../../bus/jetstream/ensure.ts";
import { openBucket } from "../../bus/kv.ts";
import { concreteSubject, request, subscribe } from "../../bus/typed.ts";
import { decode } from "../../contracts/codec.ts";
import {
  type FieldReport,
  FieldReportOutcome,
  type SeedState,
  type SystemStatePacket,
  type TamiyoDecision,
} from "../../contracts/index.ts";
import type { Heartbeat } from "../../contracts/messages/runtime.ts";
import type { TelemetryEvent } from "../../contracts/messages/telemetry.ts";
import { startNatsServer, type TestNatsServer } from "../../test/nats-server.ts";
import { foldJournal } from "./field-report-journal.ts";
import { FIELD_REPORT_LOG_FILE, FIELD_REPORT_WINDOW_EPOCHS, PLATEAU, WAL_DIR_ENV } from "./settings.ts";
import { DORMANT, descriptor, packet, seedState, TRAINING } from "./testing/fixtures.ts";
import { parseWal } from "./wal.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const NS = "tamiyofr";
const KEY = "tamiyo-field-report-test-key";
const fitting = descriptor("low-rank-linear", 8, 2);

let server: TestNatsServer;
let bus: BusConnection;
let walDir: string;
const heartbeats: Heartbeat[] = [];
const events: TelemetryEvent[] = [];

beforeAll(async () => {
  server = await startNatsServer();
  bus = await connectBus({ name: "tamiyo-field-report-test", namespace: NS, ...server.address });
  await ensureResources(bus);
  await (await openBucket(bus, "catalog")).put(fitting.blueprintId, fitting);
  subscribe(bus, "heartbeat", (hb) => void heartbeats.push(hb), { params: { actor: "tamiyo" } });
  subscribe(bus, "telemetryRaw", (p) => void events.push(...p.events), { params: { actor: "tamiyo" } });
  await bus.nc.flush();
  walDir = await mkdtemp(join(tmpdir(), "tamiyo-fr-"));
});

afterAll(async () => {
  await bus?.close();
  await server?.stop();
  await rm(walDir, { recursive: true, force: true });
});

/** `esper actor tamiyo` as a child process, running (its heartbeat says so). */
interface TamiyoChild {
  readonly proc: ChildProcess;
  readonly stderr: () => string;
  readonly exited: Promise<unknown>;
}

async function startTamiyo(): Promise<TamiyoChild> {
  const address = server.address;
  const proc = spawn(process.execPath, ["bin/esper.js", "actor", "tamiyo"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      ESPER_NAMESPACE: NS,
      ESPER_NATS_URL: server.url,
      ...(address.user !== undefined && address.pass !== undefined
        ? { ESPER_NATS_USER: address.user, ESPER_NATS_PASS: address.pass }
        : {}),
      ESPER_RUN_ID: "run-tamiyo-fr",
      ESPER_INSTANCE_ID: "tamiyo-fr-1",
      ESPER_SIGNING_KEY: KEY,
      [WAL_DIR_ENV]: walDir,
      ESPER_LOG_LEVEL: "warn",
      ESPER_LOG_PRETTY: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  proc.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  proc.stdout?.resume();
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  const end = Date.now() + 30_000;
  while (!heartbeats.some((hb) => hb.pid === proc.pid && hb.state === "running")) {
    if (proc.exitCode !== null) throw new Error(`tamiyo exited ${proc.exitCode}; stderr:\n${err}`);
    if (Date.now() > end) throw new Error(`tamiyo not running after 30 s; stderr:\n${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { proc, stderr: () => err, exited };
}

async function kill(child: TamiyoChild): Promise<void> {
  child.proc.kill("SIGKILL");
  await child.exited;
}

/** A packet of `run` at `epoch`: seed s1 DORMANT before the command, TRAINING after it. */
function statePacket(
  run: string,
  epoch: number,
  loss: number,
  accuracy: number,
  stage: SeedState["stage"],
): SystemStatePacket {
  return {
    ...packet(epoch, loss, [seedState("s1", stage)]),
    packetId: `${run}-pkt-${epoch}`,
    trainingRunId: run,
    validationAccuracy: accuracy,
  };
}

const evaluate = (p: SystemStatePacket): Promise<TamiyoDecision> =>
  request(bus, "tamiyoEvaluate", p, { timeoutMs: 10_000 });

/** Losses that improve, then stay flat for PLATEAU.epochs epochs: the last packet gets a command. */
const PLATEAU_LOSSES = [1.0, 0.8, ...Array.from({ length: PLATEAU.epochs }, () => 0.8)];

/** Feeds run `run` up to its command; returns the command id and its epoch. */
async function untilCommand(run: string): Promise<{ commandId: string; epoch: number }> {
  let reply: TamiyoDecision | undefined;
  for (const [i, loss] of PLATEAU_LOSSES.entries())
    reply = await evaluate(statePacket(run, i + 1, loss, 0.5, DORMANT));
  if (reply?.outcome !== "command")
    throw new Error(`expected a command for ${run}, got ${JSON.stringify(reply)}`);
  return { commandId: reply.command.commandId, epoch: PLATEAU_LOSSES.length };
}

/** The field reports stored on `fieldreport.<run>`. */
async function storedReports(run: string): Promise<FieldReport[]> {
  const jsm = await jetStreamManagerOf(bus);
  const stream = streamName(NS, "fieldReports");
  const subject = concreteSubject(NS, "fieldReport", { run });
  const info = await jsm.streams.info(stream, { subjects_filter: subject });
  const out: FieldReport[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && seq > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (m?.subject === subject) out.push(decode("FieldReport", m.data));
  }
  return out;
}

async function until(cond: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("field reports across SIGKILLs of `esper actor tamiyo` (real nats-server, real file system)", () => {
  it("every window resumes after a kill and every report is stored exactly once, with its outcome", async () => {
    let tamiyo = await startTamiyo();
    try {
      const a = await untilCommand("run-a");
      const b = await untilCommand("run-b");
      // Two epochs of each window, then the kill: run-a improves, run-b gets worse.
      await evaluate(statePacket("run-a", a.epoch + 1, 0.7, 0.6, TRAINING));
      await evaluate(statePacket("run-a", a.epoch + 2, 0.65, 0.62, TRAINING));
      await evaluate(statePacket("run-b", b.epoch + 1, 0.85, 0.48, TRAINING));
      await kill(tamiyo);

      tamiyo = await startTamiyo();
      // The packet in flight at the kill is sent again (idempotent), then the windows run to their end.
      await evaluate(statePacket("run-a", a.epoch + 2, 0.65, 0.62, TRAINING));
      for (let e = a.epoch + 3; e <= a.epoch + FIELD_REPORT_WINDOW_EPOCHS; e++) {
        await evaluate(statePacket("run-a", e, 0.65 - 0.05 * (e - a.epoch - 2), 0.7, TRAINING));
      }
      for (let e = b.epoch + 2; e <= b.epoch + FIELD_REPORT_WINDOW_EPOCHS; e++) {
        await evaluate(statePacket("run-b", e, 0.9, 0.45, TRAINING));
      }
      await until(
        async () => (await storedReports("run-a")).length > 0 && (await storedReports("run-b")).length > 0,
        "both reports",
      );
      const [reportA] = await storedReports("run-a");
      const [reportB] = await storedReports("run-b");
      expect(reportA).toMatchObject({
        reportId: `fr-${a.commandId}`,
        commandId: a.commandId,
        seedId: "s1",
        blueprintId: fitting.blueprintId,
        outcome: FieldReportOutcome.SUCCESS,
        observationWindowEpochs: FIELD_REPORT_WINDOW_EPOCHS,
        delta: { epochs: FIELD_REPORT_WINDOW_EPOCHS, criticalEvents: 0 },
      });
      expect(reportA?.delta.lossDelta).toBeCloseTo(0.5 - 0.8, 10);
      expect(reportA?.delta.accuracyDelta).toBeCloseTo(0.7 - 0.5, 10);
      expect(reportB).toMatchObject({
        reportId: `fr-${b.commandId}`,
        outcome: FieldReportOutcome.REGRESSION,
        delta: { epochs: FIELD_REPORT_WINDOW_EPOCHS },
      });
      expect(reportB?.delta.lossDelta).toBeCloseTo(0.9 - 0.8, 10);

      // Telemetry (flushed before the kill): each report published once.
      const named = (id: string) => events.filter((e) => e.eventId === id).map((e) => e.attributes);
      await until(async () => named("tamiyo.fieldreport.published").length >= 2, "the published events");
      expect(named("tamiyo.fieldreport.published")).toEqual([
        { reportId: `fr-${a.commandId}`, commandId: a.commandId, trainingRunId: "run-a", outcome: "SUCCESS" },
        {
          reportId: `fr-${b.commandId}`,
          commandId: b.commandId,
          trainingRunId: "run-b",
          outcome: "REGRESSION",
        },
      ]);

      // A kill between a report's publish and its `published` record: cut that record off the log.
      await kill(tamiyo);
      const file = join(walDir, FIELD_REPORT_LOG_FILE);
      const load = parseWal(await readFile(file), file);
      const last = load.records.at(-1);
      if (last === undefined) throw new Error("the log is empty");
      expect(JSON.parse(new TextDecoder().decode(last))).toMatchObject({ kind: "published" });
      await truncate(file, load.bytes - (last.length + 8));
      expect(foldJournal(parseWal(await readFile(file), file).records, file).pending.size).toBe(1);

      tamiyo = await startTamiyo();
      // The restarted Tamiyo published the pending report again at its start: the stream dropped the duplicate.
      const after = parseWal(await readFile(file), file);
      expect(foldJournal(after.records, file).pending.size).toBe(0);
      expect((await storedReports("run-a")).map((r) => r.reportId)).toEqual([`fr-${a.commandId}`]);
      expect((await storedReports("run-b")).map((r) => r.reportId)).toEqual([`fr-${b.commandId}`]);
      // The re-publish is told as a duplicate, and the published events stay two.
      await until(async () => named("tamiyo.fieldreport.duplicate").length > 0, "the duplicate event");
      expect(named("tamiyo.fieldreport.published")).toHaveLength(2);
      expect(named("tamiyo.fieldreport.duplicate")).toEqual([
        { reportId: `fr-${b.commandId}`, trainingRunId: "run-b", outcome: "REGRESSION" },
      ]);
      // More packets of the runs publish nothing more.
      await evaluate(statePacket("run-a", a.epoch + FIELD_REPORT_WINDOW_EPOCHS + 1, 0.4, 0.72, TRAINING));
      expect(await storedReports("run-a")).toHaveLength(1);
    } finally {
      if (tamiyo.proc.exitCode === null && tamiyo.proc.signalCode === null) await kill(tamiyo);
    }
  }, 120_000);
});
