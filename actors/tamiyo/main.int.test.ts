import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jetStreamManagerOf } from "../../bus/jetstream/context.ts";
import { streamName } from "../../bus/jetstream/declarations.ts";
import { ensureResources } from "../../bus/jetstream/ensure.ts";
import { openBucket } from "../../bus/kv.ts";
import { concreteSubject, publish, request, subscribe } from "../../bus/typed.ts";
import { decode } from "../../contracts/codec.ts";
import {
  type BlueprintDescriptor,
  checkSignature,
  type SystemStatePacket,
  type TamiyoDecision,
  TelemetryLevel,
} from "../../contracts/index.ts";
import { storeName } from "../../contracts/stores.ts";
import { type ActorStage, actorStage } from "../../test/actor-stage.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { startActor } from "../runtime/actor.ts";
import { ActorExitCode } from "../runtime/exit-codes.ts";
import { decodeJournalRecord, foldJournal } from "./field-report-journal.ts";
import { createTamiyoActor } from "./main.ts";
import {
  FIELD_REPORT_LOG_FILE,
  FIELD_REPORT_PUBLISH_DEADLINE_MS,
  FIELD_REPORT_WINDOW_EPOCHS,
  PLATEAU,
  WAL_DIR_ENV,
} from "./settings.ts";
import { DORMANT, descriptor, packet, seedState } from "./testing/fixtures.ts";
import { frameRecord, parseWal, WAL_HEADER_BYTES, walHeader } from "./wal.ts";

const fixture = useNatsServer();
const KEY = "tamiyo-main-test-signing-key";

const fitting = descriptor("low-rank-linear", 8, 2);

let walRoot: string;
beforeAll(async () => {
  walRoot = await mkdtemp(join(tmpdir(), "tamiyo-main-"));
});
afterAll(async () => {
  await rm(walRoot, { recursive: true, force: true });
});

/** Tamiyo with its state directory under the test's temporary root, one per namespace. */
const tamiyoOf = (s: { ns: string }) => createTamiyoActor({ env: { [WAL_DIR_ENV]: join(walRoot, s.ns) } });

type Stage = ActorStage;

const stage = (resources: "all" | "settings only"): Promise<Stage> =>
  actorStage(fixture, "tamiyo", { resources, signingKey: KEY });

async function putCatalog(s: Stage, descriptors: readonly BlueprintDescriptor[]): Promise<void> {
  const bucket = await openBucket(s.bus, "catalog");
  for (const d of descriptors) await bucket.put(d.blueprintId, d);
}

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A packet of run `run` at `epoch` with one DORMANT seed of width 8. */
function statePacket(run: string, epoch: number, loss: number): SystemStatePacket {
  return {
    ...packet(epoch, loss, [seedState("s1", DORMANT)]),
    packetId: `${run}-pkt-${epoch}`,
    trainingRunId: run,
  };
}

const evaluate = (s: Stage, p: SystemStatePacket): Promise<TamiyoDecision> =>
  request(s.bus, "tamiyoEvaluate", p, { timeoutMs: 10_000 });

/** The commands stored on `command.<run>.kasmina`. */
async function storedCommands(s: Stage, run: string) {
  const jsm = await jetStreamManagerOf(s.bus);
  const stream = streamName(s.ns, "commands");
  const subject = concreteSubject(s.ns, "command", { run, target: "kasmina" });
  const info = await jsm.streams.info(stream, { subjects_filter: subject });
  const count = info.state.subjects?.[subject] ?? 0;
  if (count === 0) return [];
  const last = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  return [{ count, last: decode("AdaptationCommand", last?.data ?? new Uint8Array()) }];
}

/** Losses that improve, then stay flat for PLATEAU.epochs epochs. */
const PLATEAU_LOSSES = [1.0, 0.8, ...Array.from({ length: PLATEAU.epochs }, () => 0.8)];

/** Drives `run` to a command at its plateau (PLATEAU_LOSSES.length packets); returns the replies. */
async function toCommand(s: Stage, run: string): Promise<TamiyoDecision[]> {
  const replies: TamiyoDecision[] = [];
  for (const [i, loss] of PLATEAU_LOSSES.entries())
    replies.push(await evaluate(s, statePacket(run, i + 1, loss)));
  const opened = replies.at(-1);
  if (opened?.outcome !== "command") throw new Error(`expected a command, got ${opened?.outcome}`);
  return replies;
}

/**
 * Drives run-a to a command at its plateau and through its window's epochs but the last: returns the
 * replies and the packet that ends the window.
 */
async function toWindowEnd(s: Stage): Promise<{ replies: TamiyoDecision[]; last: SystemStatePacket }> {
  const replies = await toCommand(s, "run-a");
  const first = PLATEAU_LOSSES.length + 1;
  for (let epoch = first; epoch < first + FIELD_REPORT_WINDOW_EPOCHS - 1; epoch++)
    replies.push(await evaluate(s, statePacket("run-a", epoch, 0.7)));
  return { replies, last: statePacket("run-a", first + FIELD_REPORT_WINDOW_EPOCHS - 1, 0.7) };
}

describe("the tamiyo actor in this process (real nats-server)", () => {
  it("answers no-ops before the plateau and a signed, stored command at it; runs keep separate memories", async () => {
    const s = await stage("all");
    await putCatalog(s, [fitting]);
    const h = startActor(tamiyoOf(s), { env: s.env, handleSignals: false });
    try {
      await until(() => h.lifecycle.state === "running", "tamiyo running");
      const replies: TamiyoDecision[] = [];
      for (const [i, loss] of PLATEAU_LOSSES.entries()) {
        if (i === PLATEAU_LOSSES.length - 1) {
          // run-b's first packet, between run-a's: a memory shared with run-a would see its plateau here.
          const other = await evaluate(s, statePacket("run-b", 1, 0.8));
          expect(other).toMatchObject({ outcome: "noAction", trainingRunId: "run-b" });
          expect(other.outcome === "noAction" && other.reason).toMatch(/^no_plateau: 0 of 3 epochs/);
        }
        replies.push(await evaluate(s, statePacket("run-a", i + 1, loss)));
      }
      const before = replies.slice(0, -1);
      for (const r of before) {
        expect(r.outcome).toBe("noAction");
        expect(r.outcome === "noAction" && r.reason).toMatch(/^no_plateau: /);
      }
      expect(await storedCommands(s, "run-b")).toEqual([]);
      const last = replies.at(-1);
      if (last?.outcome !== "command") throw new Error(`expected a command, got ${JSON.stringify(last)}`);
      expect(checkSignature("AdaptationCommand", last.command, KEY)).toBe("ok");
      expect(last.command).toMatchObject({
        trainingRunId: "run-a",
        targetSeedId: "s1",
        issuedBy: "tamiyo",
        payload: { blueprintId: fitting.blueprintId },
      });
      const stored = await storedCommands(s, "run-a");
      expect(stored).toHaveLength(1);
      expect(stored[0]?.count).toBe(1);
      expect(stored[0]?.last).toEqual(last.command);

      h.drain("test done");
      expect(await h.done).toBe(ActorExitCode.ok);
      expect(s.events("tamiyo.command.issued").map((e) => e.attributes)).toEqual([
        {
          commandId: last.command.commandId,
          seedId: "s1",
          blueprintId: fitting.blueprintId,
          trainingRunId: "run-a",
        },
      ]);
      const latencies = s.packets.flatMap((p) =>
        p.metrics.filter((m) => m.name === "tamiyo.decision.latency_ms"),
      );
      expect(latencies).toHaveLength(PLATEAU_LOSSES.length + 1);
    } finally {
      h.drain("test cleanup");
      await h.done;
      await s.close();
    }
  });

  it("uses a blueprint catalogued after the start", async () => {
    const s = await stage("all");
    const narrow = descriptor("residual-mlp", 4, 8);
    await putCatalog(s, [narrow]);
    const h = startActor(tamiyoOf(s), { env: s.env, handleSignals: false });
    try {
      await until(() => h.lifecycle.state === "running", "tamiyo running");
      const flat = PLATEAU_LOSSES.map((loss, i) => statePacket("run-a", i + 1, loss));
      let last: TamiyoDecision | undefined;
      for (const p of flat) last = await evaluate(s, p);
      expect(last?.outcome === "noAction" && last.reason).toMatch(/^no_fitting_blueprint: /);
      await putCatalog(s, [fitting]);
      publish(s.bus, "catalogUpdate", {
        blueprintId: fitting.blueprintId,
        artifactRef: fitting.artifactSha256,
        checksum: fitting.artifactSha256,
        guardDigest: fitting.artifactSha256,
        compileMs: 0,
        prewarmMs: 0,
      });
      await s.bus.nc.flush();
      const p = statePacket("run-a", flat.length + 1, 0.8);
      let reply = await evaluate(s, p);
      const end = Date.now() + 10_000;
      while (reply.outcome !== "command" && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 20));
        reply = await evaluate(s, p);
      }
      expect(reply.outcome === "command" && reply.command.payload).toMatchObject({
        blueprintId: fitting.blueprintId,
      });
    } finally {
      h.drain("test cleanup");
      await h.done;
      await s.close();
    }
  });

  it("a germination the risk engine vetoes is a no-op naming the veto, never stored, with WARNING tamiyo.risk.veto", async () => {
    const s = await stage("all");
    await putCatalog(s, [fitting]);
    const h = startActor(tamiyoOf(s), { env: s.env, handleSignals: false });
    try {
      await until(() => h.lifecycle.state === "running", "tamiyo running");
      // A plateau reached by a loss that jumps 0.2 (> 0.15) in its last epoch: the policy germinates, loss-spike vetoes.
      const losses = [1.0, 0.8, ...Array.from({ length: PLATEAU.epochs - 1 }, () => 0.8), 1.0];
      const replies: TamiyoDecision[] = [];
      for (const [i, loss] of losses.entries())
        replies.push(await evaluate(s, statePacket("run-a", i + 1, loss)));
      const last = replies.at(-1);
      if (last?.outcome !== "noAction")
        throw new Error(`expected a vetoed no-op, got ${JSON.stringify(last)}`);
      expect(last.reason).toMatch(
        /^risk_veto: germinate \S+ on s1 vetoed by loss-spike \(loss_spike: validation loss rose 0\.2/,
      );
      expect(last.risk).toMatchObject({
        score: 1,
        conservative: true,
        vetoes: [{ evaluator: "loss-spike", reason: "loss_spike" }],
      });
      expect(await storedCommands(s, "run-a")).toEqual([]);

      h.drain("test done");
      expect(await h.done).toBe(ActorExitCode.ok);
      expect(s.events("tamiyo.risk.veto").map((e) => e.attributes)).toEqual([
        { evaluator: "loss-spike", reason: "loss_spike", packetId: last.packetId, trainingRunId: "run-a" },
      ]);
      expect(s.events("tamiyo.risk.conservative_entered")).toHaveLength(1);
      expect(s.events("tamiyo.command.issued")).toEqual([]);
      const kinds = s.packets.flatMap((p) => p.metrics.filter((m) => m.name === "tamiyo.decision.total"));
      expect(kinds.at(-1)).toMatchObject({ value: 1, attributes: { kind: "risk_veto" } });
    } finally {
      h.drain("test cleanup");
      await h.done;
      await s.close();
    }
  });

  it("a command whose publish fails is answered with an error, never a decision, and a WARNING", async () => {
    const s = await stage("all");
    await putCatalog(s, [fitting]);
    const h = startActor(tamiyoOf(s), { env: s.env, handleSignals: false });
    try {
      await until(() => h.lifecycle.state === "running", "tamiyo running");
      const flat = PLATEAU_LOSSES.map((loss, i) => statePacket("run-a", i + 1, loss));
      for (const p of flat.slice(0, -1)) await evaluate(s, p);
      const jsm = await jetStreamManagerOf(s.bus);
      await jsm.streams.delete(streamName(s.ns, "commands"));
      const last = flat.at(-1) as SystemStatePacket;
      await expect(evaluate(s, last)).rejects.toThrow(/no stream ack/);
      await ensureResources(s.bus);
      const retried = await evaluate(s, last);
      if (retried.outcome !== "command") throw new Error(`expected a command, got ${retried.outcome}`);
      // The failed command's window was withdrawn: the log holds only the published command's window.
      const log = join(walRoot, s.ns, FIELD_REPORT_LOG_FILE);
      const windows = foldJournal(parseWal(await readFile(log), log).records, log).windows;
      expect([...windows.keys()]).toEqual([retried.command.commandId]);
      await until(() => s.events("tamiyo.evaluate.refused").length > 0, "the refusal event");
      expect(s.events("tamiyo.evaluate.refused")[0]).toMatchObject({
        attributes: { packetId: last.packetId, trainingRunId: "run-a" },
      });
      expect(s.events("tamiyo.evaluate.refused")[0]?.description).toContain("no stream ack");
    } finally {
      h.drain("test cleanup");
      await h.done;
      await s.close();
    }
  }, 30_000);

  it("replies before its after-reply work: each reply is published on decision.<run>; an unstorable field report does not hold the reply back", async () => {
    const s = await stage("all");
    await putCatalog(s, [fitting]);
    const decisions: TamiyoDecision[] = [];
    const sub = subscribe(s.bus, "decision", (d) => void decisions.push(d), { params: { run: "run-a" } });
    await s.bus.nc.flush();
    const h = startActor(tamiyoOf(s), { env: s.env, handleSignals: false });
    try {
      await until(() => h.lifecycle.state === "running", "tamiyo running");
      const { replies, last } = await toWindowEnd(s);
      const jsm = await jetStreamManagerOf(s.bus);
      await jsm.streams.delete(streamName(s.ns, "fieldReports"));
      const started = performance.now();
      replies.push(await evaluate(s, last));
      // Published before the reply, the report would hold it back for its whole ack deadline.
      expect(performance.now() - started).toBeLessThan(FIELD_REPORT_PUBLISH_DEADLINE_MS);
      await ensureResources(s.bus);
      // The report's publish is retried within its deadline; the next packet waits for that round.
      replies.push(await evaluate(s, statePacket("run-a", last.currentEpoch + 1, 0.7)));
      const reports = concreteSubject(s.ns, "fieldReport", { run: "run-a" });
      await until(
        () => s.events("tamiyo.fieldreport.published").length > 0,
        "the stored field report",
        10_000,
      );
      const info = await jsm.streams.info(streamName(s.ns, "fieldReports"), { subjects_filter: reports });
      expect(info.state.subjects?.[reports]).toBe(1);
      await until(() => decisions.length === replies.length, "a decision per reply");
      expect(decisions).toEqual(replies);
    } finally {
      await sub.stop();
      h.drain("test cleanup");
      await h.done;
      await s.close();
    }
  }, 30_000);

  it("the next packet is logged only after the previous reply's field-report round", async () => {
    const s = await stage("all");
    await putCatalog(s, [fitting]);
    const h = startActor(tamiyoOf(s), { env: s.env, handleSignals: false });
    try {
      await until(() => h.lifecycle.state === "running", "tamiyo running");
      await toCommand(s, "run-b");
      const { last } = await toWindowEnd(s);
      const jsm = await jetStreamManagerOf(s.bus);
      await jsm.streams.delete(streamName(s.ns, "fieldReports"));
      await evaluate(s, last);
      // run-a's report is being retried; run-b's next packet observes its open window meanwhile.
      const next = evaluate(s, statePacket("run-b", PLATEAU_LOSSES.length + 1, 0.7));
      await ensureResources(s.bus);
      await next;
      const log = join(walRoot, s.ns, FIELD_REPORT_LOG_FILE);
      const records = parseWal(await readFile(log), log).records.map((b, i) =>
        decodeJournalRecord(b, log, i),
      );
      const runOf = new Map<string, string>();
      for (const r of records) if (r.kind === "opened") runOf.set(r.window.commandId, r.window.trainingRunId);
      const described = records.map((r) =>
        r.kind === "observed" || r.kind === "published" ? `${r.kind} ${runOf.get(r.commandId)}` : r.kind,
      );
      expect(described.slice(-2)).toEqual(["published run-a", "observed run-b"]);
    } finally {
      h.drain("test cleanup");
      await h.done;
      await s.close();
    }
  }, 30_000);

  it("the drain waits for the field-report round after the last reply before closing the log", async () => {
    const s = await stage("all");
    await putCatalog(s, [fitting]);
    const h = startActor(tamiyoOf(s), { env: s.env, handleSignals: false });
    try {
      await until(() => h.lifecycle.state === "running", "tamiyo running");
      const { last } = await toWindowEnd(s);
      const jsm = await jetStreamManagerOf(s.bus);
      await jsm.streams.delete(streamName(s.ns, "fieldReports"));
      await evaluate(s, last);
      // The report's publish is being retried after the reply: the drain begins, then the stream returns.
      h.drain("test done");
      await ensureResources(s.bus);
      expect(await h.done).toBe(ActorExitCode.ok);
      const log = join(walRoot, s.ns, FIELD_REPORT_LOG_FILE);
      const journal = foldJournal(parseWal(await readFile(log), log).records, log);
      expect([...journal.pending.keys()]).toEqual([]);
      expect([...journal.published.keys()]).toHaveLength(1);
      expect(s.events("tamiyo.fieldreport.error")).toEqual([]);
    } finally {
      h.drain("test cleanup");
      await h.done;
      await s.close();
    }
  }, 30_000);

  it("without the catalog bucket, preflight fails naming `esper resources ensure`", async () => {
    const s = await stage("settings only");
    try {
      const h = startActor(tamiyoOf(s), { env: s.env, handleSignals: false });
      expect(await h.done).toBe(ActorExitCode.preflightFailed);
      expect(h.lifecycle.failureReason).toContain(
        `KV bucket ${storeName(s.ns, "catalog")} does not exist: start Weatherlight or run \`esper resources ensure\``,
      );
    } finally {
      await s.close();
    }
  });

  it("with an empty catalog, preflight fails: Urza has not published", async () => {
    const s = await stage("all");
    try {
      const h = startActor(tamiyoOf(s), { env: s.env, handleSignals: false });
      expect(await h.done).toBe(ActorExitCode.preflightFailed);
      expect(h.lifecycle.failureReason).toContain("holds no blueprint descriptor: Urza has not published");
    } finally {
      await s.close();
    }
  });

  it("without ESPER_SIGNING_KEY, preflight fails", async () => {
    const s = await stage("all");
    await putCatalog(s, [fitting]);
    try {
      const { ESPER_SIGNING_KEY: _, ...env } = s.env;
      const h = startActor(tamiyoOf(s), { env, handleSignals: false });
      expect(await h.done).toBe(ActorExitCode.preflightFailed);
      expect(h.lifecycle.failureReason).toContain("ESPER_SIGNING_KEY");
    } finally {
      await s.close();
    }
  });

  it("without ESPER_TAMIYO_WAL_DIR, or with a relative one, preflight fails naming the variable", async () => {
    const s = await stage("all");
    await putCatalog(s, [fitting]);
    try {
      for (const [env, problem] of [
        [{}, "ESPER_TAMIYO_WAL_DIR is not set"],
        [{ [WAL_DIR_ENV]: "var/tamiyo" }, "ESPER_TAMIYO_WAL_DIR=var/tamiyo is not an absolute path"],
      ] as const) {
        const h = startActor(createTamiyoActor({ env }), { env: s.env, handleSignals: false });
        expect(await h.done).toBe(ActorExitCode.preflightFailed);
        expect(h.lifecycle.failureReason).toContain(problem);
      }
    } finally {
      await s.close();
    }
  });

  it("a log ending in a torn record starts with WARNING tamiyo.wal.torn_tail naming the bytes dropped", async () => {
    const s = await stage("all");
    await putCatalog(s, [fitting]);
    const dir = join(walRoot, s.ns);
    await mkdir(dir, { recursive: true });
    const torn = frameRecord(new TextEncoder().encode('{"kind":"withdrawn"}'));
    await writeFile(join(dir, FIELD_REPORT_LOG_FILE), Buffer.concat([walHeader(), torn.subarray(0, 7)]));
    const h = startActor(tamiyoOf(s), { env: s.env, handleSignals: false });
    try {
      await until(() => s.events("tamiyo.wal.torn_tail").length > 0, "the torn-tail event");
      expect(s.events("tamiyo.wal.torn_tail")[0]).toMatchObject({
        level: TelemetryLevel.WARNING,
        attributes: { droppedBytes: "7", offset: String(WAL_HEADER_BYTES) },
      });
    } finally {
      h.drain("test cleanup");
      await h.done;
      await s.close();
    }
  });
});
