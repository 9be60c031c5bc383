import { describe, expect, it } from "vitest";
import { jetStreamManagerOf } from "../../bus/jetstream/context.ts";
import { streamName } from "../../bus/jetstream/declarations.ts";
import { publishToStream } from "../../bus/jetstream/publish.ts";
import { concreteSubject, serve } from "../../bus/typed.ts";
import { decode } from "../../contracts/codec.ts";
import { SeedLifecycleStage as S, SeedOperation } from "../../contracts/enums.ts";
import type { AdaptationCommand } from "../../contracts/messages/command.ts";
import type { KernelPrefetchRequest } from "../../contracts/messages/kernel.ts";
import type { SeedDirective } from "../../contracts/messages/seed.ts";
import { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import { type ActorStage, actorStage } from "../../test/actor-stage.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { until } from "../../test/until.ts";
import { startActor } from "../runtime/actor.ts";
import { ActorExitCode } from "../runtime/exit-codes.ts";
import { actor } from "./main.ts";
import { catalogTestKernel } from "./testing/kernel-descriptor.ts";
import { seedReportOf, signedSeedCommand, TEST_BLUEPRINT } from "./testing/seed-messages.ts";

const fixture = useNatsServer();
const GATES = WorkerSettings.parse({}).gates;
const KEY = "kasmina-main-test-signing-key";
const SEED = "s1-g0";
const CHECKSUM = "c".repeat(64);

interface Stage extends ActorStage {
  readonly prefetches: KernelPrefetchRequest[];
}

async function stage(): Promise<Stage> {
  const s = await actorStage(fixture, "kasmina", { signingKey: KEY });
  const prefetches: KernelPrefetchRequest[] = [];
  const urza = serve(s.bus, "urzaPrefetch", (req) => {
    prefetches.push(req);
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
  await catalogTestKernel(s.bus, TEST_BLUEPRINT, 4, CHECKSUM);
  await s.bus.nc.flush();
  return {
    ...s,
    prefetches,
    async close() {
      await urza.stop();
      await s.close();
    },
  };
}

const germinate = (run: string, commandId: string, key: string) =>
  signedSeedCommand(run, SEED, commandId, key);
const seedCommand = (
  run: string,
  commandId: string,
  key: string,
  operation: typeof SeedOperation.GERMINATE | typeof SeedOperation.CULL,
) => signedSeedCommand(run, SEED, commandId, key, operation);

const sendCommand = (s: Stage, command: AdaptationCommand, messageId?: string) =>
  publishToStream(s.bus, "command", command, {
    params: { run: s.run, target: "kasmina" },
    ...(messageId === undefined ? {} : { messageId }),
  });

/** The directives stored on `seed.<run>.directive`: how many, and the last. */
async function directives(s: Stage): Promise<{ count: number; last?: SeedDirective }> {
  const jsm = await jetStreamManagerOf(s.bus);
  const stream = streamName(s.ns, "seeds");
  const subject = concreteSubject(s.ns, "seedDirective", { run: s.run });
  const info = await jsm.streams.info(stream, { subjects_filter: subject });
  const count = info.state.subjects?.[subject] ?? 0;
  if (count === 0) return { count };
  const last = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  return { count, last: decode("SeedDirective", last?.data ?? new Uint8Array()) };
}

const report = (run: string, n: number) => seedReportOf(run, SEED, S.TRAINING, n);

describe("the kasmina actor in this process (real nats-server)", () => {
  it("grafts a verified GERMINATE's kernel, rejects forged and replayed commands, advances on reports", async () => {
    const s = await stage();
    const h = startActor(actor, { env: s.env, handleSignals: false });
    try {
      await until(() => h.lifecycle.state === "running", "kasmina running");
      const command = germinate(s.run, "cmd-1", KEY);
      await sendCommand(s, command);
      await until(async () => (await directives(s)).count === 1, "the graft directive");
      expect(s.prefetches).toMatchObject([{ blueprintId: "bp-mlp", trainingRunId: s.run }]);
      const graft = (await directives(s)).last;
      expect(graft).toMatchObject({
        action: "graft",
        seedId: SEED,
        slotId: "s1",
        trainingRunId: s.run,
        stage: S.TRAINING,
        commandId: "cmd-1",
        kernel: { blueprintId: "bp-mlp", artifactRef: CHECKSUM, checksum: CHECKSUM },
      });

      await sendCommand(s, germinate(s.run, "cmd-forged", "not-the-key"));
      await sendCommand(s, command, "replay-of-cmd-1");
      await until(() => s.events("kasmina.command.rejected").length === 2, "two rejections");
      expect(s.events("kasmina.command.rejected")).toMatchObject([
        {
          level: 4,
          attributes: { reason: "invalid_signature", commandId: "cmd-forged", trainingRunId: s.run },
        },
        { level: 4, attributes: { reason: "nonce_replayed", commandId: "cmd-1", trainingRunId: s.run } },
      ]);
      expect(s.prefetches).toHaveLength(1);

      for (let n = 1; n <= GATES.trainingReports; n++) {
        await publishToStream(s.bus, "seedReport", report(s.run, n), { params: { run: s.run } });
      }
      await until(async () => (await directives(s)).count === 2, "the update directive");
      expect((await directives(s)).last).toMatchObject({
        action: "update",
        seedId: SEED,
        stage: S.BLENDING,
        commandId: "cmd-1",
      });
      await until(() => s.events("kasmina.seed.transition").length === 3, "three transitions");
      expect(s.events("kasmina.seed.transition").map((e) => e.attributes)).toMatchObject([
        { trainingRunId: s.run, seedId: SEED, from: "DORMANT", to: "GERMINATED", reason: expect.any(String) },
        {
          trainingRunId: s.run,
          seedId: SEED,
          from: "GERMINATED",
          to: "TRAINING",
          reason: expect.any(String),
        },
        { trainingRunId: s.run, seedId: SEED, from: "TRAINING", to: "BLENDING", reason: expect.any(String) },
      ]);
      h.drain("test done");
      expect(await h.done).toBe(ActorExitCode.ok);
    } finally {
      h.drain("test cleanup");
      await h.done;
      await s.close();
    }
  }, 40_000);

  it("rejects a command asking an illegal transition with its reason, never clamped, and runs on", async () => {
    const s = await stage();
    const h = startActor(actor, { env: s.env, handleSignals: false });
    try {
      await until(() => h.lifecycle.state === "running", "kasmina running");
      await sendCommand(s, seedCommand(s.run, "cmd-cull-dormant", KEY, SeedOperation.CULL));
      await until(() => s.events("kasmina.command.rejected").length === 1, "the rejection");
      const [rejection] = s.events("kasmina.command.rejected");
      expect(rejection?.attributes).toMatchObject({
        reason: "illegal_transition",
        commandId: "cmd-cull-dormant",
        trainingRunId: s.run,
      });
      expect(rejection?.description).toContain(`seed ${SEED}: illegal lifecycle transition DORMANT → CULLED`);
      expect(s.events("kasmina.seed.transition")).toEqual([]);
      expect((await directives(s)).count).toBe(0);

      await sendCommand(s, germinate(s.run, "cmd-after", KEY));
      await until(async () => (await directives(s)).count === 1, "the graft directive after the rejection");
      expect((await directives(s)).last).toMatchObject({ action: "graft", commandId: "cmd-after" });
      h.drain("test done");
      expect(await h.done).toBe(ActorExitCode.ok);
    } finally {
      h.drain("test cleanup");
      await h.done;
      await s.close();
    }
  }, 40_000);

  it("without ESPER_SIGNING_KEY, preflight fails", async () => {
    const s = await stage();
    try {
      const { ESPER_SIGNING_KEY: _, ...env } = s.env;
      const h = startActor(actor, { env, handleSignals: false });
      expect(await h.done).toBe(ActorExitCode.preflightFailed);
      expect(h.lifecycle.failureReason).toContain("ESPER_SIGNING_KEY");
    } finally {
      await s.close();
    }
  });
});
