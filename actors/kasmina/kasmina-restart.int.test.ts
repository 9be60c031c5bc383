import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { jetStreamManagerOf } from "../../bus/jetstream/context.ts";
import { streamName } from "../../bus/jetstream/declarations.ts";
import { publishToStream } from "../../bus/jetstream/publish.ts";
import { openBucket } from "../../bus/kv.ts";
import { concreteSubject, serve, subscribe } from "../../bus/typed.ts";
import { decode } from "../../contracts/codec.ts";
import { SeedLifecycleStage as S } from "../../contracts/enums.ts";
import type { Heartbeat } from "../../contracts/messages/runtime.ts";
import type { SeedDirective, SeedReport } from "../../contracts/messages/seed.ts";
import { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import { type ActorStage, actorStage } from "../../test/actor-stage.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { until } from "../../test/until.ts";
import { startActor } from "../runtime/actor.ts";
import { ActorExitCode } from "../runtime/exit-codes.ts";
import { actor } from "./main.ts";
import { catalogTestKernel } from "./testing/kernel-descriptor.ts";
import { seedReportOf, signedSeedCommand, TEST_BLUEPRINT } from "./testing/seed-messages.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const fixture = useNatsServer();
const GATES = WorkerSettings.parse({}).gates;
const KEY = "kasmina-restart-test-signing-key";
const SEED = "s1-g0";
const CHECKSUM = "c".repeat(64);

const germinate = (run: string, commandId: string) => signedSeedCommand(run, SEED, commandId, KEY);

let reports = 0;
const report = (run: string, stage: SeedReport["stage"]) => seedReportOf(run, SEED, stage, ++reports);

/** Every directive stored on `seed.<run>.directive`, in stream order. */
async function directives(s: ActorStage): Promise<SeedDirective[]> {
  const jsm = await jetStreamManagerOf(s.bus);
  const stream = streamName(s.ns, "seeds");
  const subject = concreteSubject(s.ns, "seedDirective", { run: s.run });
  const info = await jsm.streams.info(stream, { subjects_filter: subject });
  const out: SeedDirective[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && seq > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (m !== null && m.subject === subject) out.push(decode("SeedDirective", m.data));
  }
  return out;
}

/** Spawns `esper actor kasmina` with the stage's environment. */
function spawnKasmina(s: ActorStage): {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
} {
  const child = spawn(process.execPath, ["bin/esper.js", "actor", "kasmina"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", ...s.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  child.stdout?.resume();
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, exited, stderr: () => err };
}

describe("kasmina restarted after SIGKILL (real nats-server, child processes)", () => {
  it("resumes the same stage and window, rejects a replayed command, sends no directive twice", async () => {
    const s = await actorStage(fixture, "kasmina", { signingKey: KEY });
    const prefetches: string[] = [];
    const urza = serve(s.bus, "urzaPrefetch", (req) => {
      prefetches.push(req.requestId);
      return {
        status: "ready",
        requestId: req.requestId,
        blueprintId: req.blueprintId,
        artifactRef: CHECKSUM,
        checksum: CHECKSUM,
        guardDigest: CHECKSUM,
        prewarmP50Ms: 1,
        prewarmP95Ms: 2,
      };
    });
    const heartbeats: Heartbeat[] = [];
    const hb = subscribe(s.bus, "heartbeat", (h) => void heartbeats.push(h), {
      params: { actor: "kasmina" },
    });
    await catalogTestKernel(s.bus, TEST_BLUEPRINT, 4, CHECKSUM);
    await s.bus.nc.flush();
    const bucket = await openBucket(s.bus, "kasminaState");
    const sendReports = async (stage: SeedReport["stage"], n: number) => {
      for (let i = 0; i < n; i++) {
        await publishToStream(s.bus, "seedReport", report(s.run, stage), { params: { run: s.run } });
      }
    };
    const running = (pid: number | undefined) => () =>
      heartbeats.some((h) => h.pid === pid && h.state === "running");
    const first = spawnKasmina(s);
    let second: ReturnType<typeof spawnKasmina> | undefined;
    try {
      await until(running(first.child.pid), `the first kasmina running; stderr:\n${first.stderr()}`);
      await publishToStream(s.bus, "command", germinate(s.run, "cmd-1"), {
        params: { run: s.run, target: "kasmina" },
      });
      await until(async () => (await directives(s)).length === 1, "the graft");
      await sendReports(S.TRAINING, GATES.trainingReports);
      await until(async () => (await directives(s)).length === 2, "TRAINING → BLENDING");
      await sendReports(S.BLENDING, 2); // 20 of 20 blending steps
      await until(async () => (await directives(s)).length === 3, "BLENDING → SHADOWING");
      await sendReports(S.SHADOWING, 1);
      await until(
        async () => (await bucket.get(s.run))?.value.seeds[0]?.reports.length === 1,
        "the SHADOWING report stored in the state",
      );

      first.child.kill("SIGKILL");
      expect(await first.exited).toBe(null);
      expect(first.child.signalCode).toBe("SIGKILL");

      second = spawnKasmina(s);
      const restarted = second;
      await until(running(restarted.child.pid), `the second kasmina running; stderr:\n${restarted.stderr()}`);
      await publishToStream(s.bus, "command", germinate(s.run, "cmd-1"), {
        params: { run: s.run, target: "kasmina" },
        messageId: "replay-of-cmd-1",
      });
      await until(() => s.events("kasmina.command.rejected").length === 1, "the replay's rejection");
      expect(s.events("kasmina.command.rejected")[0]?.attributes).toMatchObject({
        reason: "nonce_replayed",
        commandId: "cmd-1",
        trainingRunId: s.run,
      });

      await sendReports(S.SHADOWING, GATES.shadowingReports - 1);
      await until(
        async () => (await directives(s)).length === 4,
        "SHADOWING → PROBATIONARY after the restart",
      );
      await sendReports(S.PROBATIONARY, GATES.probationReports);
      await until(async () => (await directives(s)).length === 5, "PROBATIONARY → FOSSILIZED");
      await new Promise((r) => setTimeout(r, 300));

      const all = await directives(s);
      expect(all.map((d) => [d.seedId, d.sequence, d.action, d.stage])).toEqual([
        [SEED, 0, "graft", S.TRAINING],
        [SEED, 1, "update", S.BLENDING],
        [SEED, 2, "update", S.SHADOWING],
        [SEED, 3, "update", S.PROBATIONARY],
        [SEED, 4, "update", S.FOSSILIZED],
      ]);
      expect(new Set(all.map((d) => d.directiveId)).size).toBe(5);
      expect(prefetches).toHaveLength(1);
      expect((await bucket.get(s.run))?.value.slots[0]?.seed?.stage).toBe(S.FOSSILIZED);

      restarted.child.kill("SIGTERM");
      expect(await restarted.exited, restarted.stderr()).toBe(ActorExitCode.ok);
    } finally {
      for (const p of [first, second]) {
        if (p !== undefined && p.child.exitCode === null && p.child.signalCode === null)
          p.child.kill("SIGKILL");
        await p?.exited;
      }
      await hb.stop();
      await urza.stop();
      await s.close();
    }
  }, 120_000);

  it("fails preflight, naming the reason, when the stored state does not fit the host", async () => {
    const s = await actorStage(fixture, "kasmina", { signingKey: KEY });
    try {
      const bucket = await openBucket(s.bus, "kasminaState");
      await bucket.put(s.run, {
        trainingRunId: s.run,
        savedAt: Date.now(),
        slots: [{ slotId: "elsewhere" }],
        seeds: [{ seedId: "elsewhere-g0", slotId: "elsewhere", generation: 0, nextSequence: 0, reports: [] }],
        timeline: [],
        nonces: { entries: [], evictions: 0 },
        applied: { commands: [], reports: [] },
      });
      const h = startActor(actor, { env: s.env, handleSignals: false });
      expect(await h.done).toBe(ActorExitCode.preflightFailed);
      expect(h.lifecycle.failureReason).toContain(`kasmina state ${bucket.name}/${s.run} cannot be resumed`);
      expect(h.lifecycle.failureReason).toContain("snapshot seeds: lay out [elsewhere:elsewhere-g0]");
    } finally {
      await s.close();
    }
  });

  it("fails (no restart) when another writer changed the run's state under it", async () => {
    const s = await actorStage(fixture, "kasmina", { signingKey: KEY });
    const h = startActor(actor, { env: s.env, handleSignals: false });
    try {
      await until(() => h.lifecycle.state === "running", "kasmina running");
      const bucket = await openBucket(s.bus, "kasminaState");
      await publishToStream(s.bus, "seedReport", report(s.run, S.TRAINING), { params: { run: s.run } });
      await until(async () => (await bucket.get(s.run)) !== undefined, "the first stored state");
      const stored = await bucket.get(s.run);
      if (stored === undefined) throw new Error("no state");
      await bucket.put(s.run, stored.value);
      await publishToStream(s.bus, "seedReport", report(s.run, S.TRAINING), { params: { run: s.run } });
      expect(await h.done).toBe(ActorExitCode.gaveUp);
      expect(h.lifecycle.failureReason).toContain("another Kasmina writes this run");
    } finally {
      h.drain("test cleanup");
      await h.done;
      await s.close();
    }
  }, 60_000);
});
