import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { jetStreamManagerOf } from "../../bus/jetstream/context.ts";
import { streamName } from "../../bus/jetstream/declarations.ts";
import { publishToStream } from "../../bus/jetstream/publish.ts";
import { concreteSubject } from "../../bus/typed.ts";
import { decode } from "../../contracts/codec.ts";
import { CommandType, EmergencyLevel, TelemetryLevel } from "../../contracts/enums.ts";
import type { AdaptationCommand, CommandPayload } from "../../contracts/messages/command.ts";
import type { EmergencySignal } from "../../contracts/messages/emergency.ts";
import { sign } from "../../contracts/signing.ts";
import type { JobPreset } from "../../nn/presets/job-preset.ts";
import { spiralsGrowthPreset } from "../../nn/presets/spirals-growth.ts";
import { type ActorStage, actorStage } from "../../test/actor-stage.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { until } from "../../test/until.ts";
import { startActor } from "../runtime/actor.ts";
import { ActorExitCode } from "../runtime/exit-codes.ts";
import { bootstrapSettings } from "../runtime/settings-bootstrap.ts";
import { TEST_KEEP_CHECKPOINTS } from "./actor-fixture.ts";
import { parseManifest } from "./checkpoint-manifest.ts";
import { CheckpointStore } from "./checkpoints.ts";
import { createTolariaActor } from "./main.ts";

const fixture = useNatsServer();
const KEY = "tolaria-commands-test-key-0123456789";

/** A long job: only a HALT ends it within a test. */
const longJob: JobPreset = { ...spiralsGrowthPreset, name: "spirals-long", epochs: 1_000 };
const presets = { [longJob.name]: longJob };

interface Stage extends ActorStage {
  readonly checkpoints: string;
}

async function stage(): Promise<Stage> {
  const checkpoints = await mkdtemp(join(tmpdir(), "tolaria-cmd-"));
  const s = await actorStage(fixture, "tolaria", {
    signingKey: KEY,
    extraEnv: { ESPER_JOB: longJob.name, ESPER_TOLARIA_CHECKPOINT_DIR: checkpoints },
  });
  // The breaker never opens here: a silent Tamiyo must not add CONSERVATIVE signals to these tests.
  await bootstrapSettings(s.bus, {
    timeouts: { decisionDeadlineMs: 20 },
    tolaria: { breaker: { failureThreshold: 1_000_000 } },
  });
  const silentTamiyo = s.bus.nc.subscribe(concreteSubject(s.ns, "tamiyoEvaluate", undefined));
  await s.bus.nc.flush();
  return {
    ...s,
    checkpoints,
    async close() {
      silentTamiyo.unsubscribe();
      await s.close();
      await rm(checkpoints, { recursive: true, force: true });
    },
  };
}

interface CommandOptions {
  readonly key?: string;
  readonly nonce?: string;
  readonly issuedAt?: number;
  readonly freshnessWindowMs?: number;
}

function command(
  s: Stage,
  commandId: string,
  commandType: AdaptationCommand["commandType"],
  payload: CommandPayload,
  o: CommandOptions = {},
): AdaptationCommand {
  return sign(
    "AdaptationCommand",
    {
      version: 1,
      commandId,
      commandType,
      trainingRunId: s.run,
      executionDeadlineMs: 5_000,
      issuedBy: "operator",
      payload,
      security: {
        signature: "",
        nonce: o.nonce ?? `n-${commandId}`,
        issuedAt: o.issuedAt ?? Date.now(),
        freshnessWindowMs: o.freshnessWindowMs ?? 60_000,
      },
    },
    o.key ?? KEY,
  );
}

const halt = (s: Stage, id: string) =>
  command(s, id, CommandType.EMERGENCY, {
    kind: "emergency",
    level: EmergencyLevel.HALT,
    reason: "test halt",
  });

async function send(s: Stage, c: AdaptationCommand): Promise<void> {
  await publishToStream(s.bus, "command", c, { params: { run: s.run, target: "tolaria" } });
}

async function storedSignals(s: Stage): Promise<EmergencySignal[]> {
  const jsm = await jetStreamManagerOf(s.bus);
  const stream = streamName(s.ns, "emergencySignals");
  const info = await jsm.streams.info(stream);
  const out: EmergencySignal[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (m !== null) out.push(decode("EmergencySignal", m.data));
  }
  return out;
}

describe("tolaria's signed commands (real nats-server, real files)", () => {
  it("a HALT stops the run at a step boundary with a verified final checkpoint, an EmergencySignal and exit 0", async () => {
    const s = await stage();
    const h = startActor(createTolariaActor({ env: s.env, presets }), { env: s.env, handleSignals: false });
    try {
      await send(
        s,
        command(s, "elevate-1", CommandType.EMERGENCY, {
          kind: "emergency",
          level: EmergencyLevel.ELEVATED,
          reason: "operator worry",
        }),
      );
      await send(s, halt(s, "halt-1"));
      expect(await h.done).toBe(ActorExitCode.ok);

      const manifest = parseManifest(
        await readFile(join(s.checkpoints, "manifest.json"), "utf8"),
        "manifest",
      );
      // The start's checkpoint (step 0), any epoch boundary's, and the HALT's last.
      expect(manifest.checkpoints[0]?.step).toBe(0);
      const entry = manifest.checkpoints.at(-1);
      if (entry === undefined) throw new Error("no checkpoint entry");
      const bytes = await readFile(join(s.checkpoints, entry.file));
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(entry.sha256);
      const loaded = await (await CheckpointStore.open(s.checkpoints, TEST_KEEP_CHECKPOINTS)).load();
      expect(loaded.snapshot.progress.steps).toBe(entry.step);

      const signals = await storedSignals(s);
      expect(signals.map((x) => [x.level, x.attributes.commandId])).toEqual([
        [EmergencyLevel.ELEVATED, "elevate-1"],
        [EmergencyLevel.HALT, "halt-1"],
      ]);
      expect(signals[1]?.reason).toBe("HALT command halt-1 from operator: test halt");
      expect(signals[1]?.origin).toBe("tolaria");
      expect(s.events("tolaria.command.applied").map((e) => e.attributes)).toEqual([
        expect.objectContaining({ commandId: "elevate-1", type: "EMERGENCY" }),
        expect.objectContaining({ commandId: "halt-1", type: "EMERGENCY" }),
      ]);
    } finally {
      await s.close();
    }
  }, 40_000);

  it("rejects a forged, a replayed and a stale command, an out-of-bounds learning rate (naming the bound) and an unsupported type", async () => {
    const s = await stage();
    const h = startActor(createTolariaActor({ env: s.env, presets }), { env: s.env, handleSignals: false });
    try {
      const lr = (id: string, learningRate: number, o: CommandOptions = {}) =>
        command(s, id, CommandType.OPTIMIZER, { kind: "optimizer", optimizerId: "host", learningRate }, o);
      await send(s, lr("forged", 0.01, { key: "not-the-signing-key-0123456789" }));
      await send(s, lr("first", 0.01, { nonce: "shared-nonce" }));
      await send(s, lr("replay", 0.02, { nonce: "shared-nonce" }));
      await send(s, lr("stale", 0.01, { issuedAt: Date.now() - 120_000, freshnessWindowMs: 1_000 }));
      await send(s, lr("too-high", 5));
      await send(
        s,
        command(s, "pruning", CommandType.STRUCTURAL_PRUNING, {
          kind: "structuralPruning",
          targetRatio: 0.5,
        }),
      );
      await send(s, halt(s, "halt-2"));
      expect(await h.done).toBe(ActorExitCode.ok);

      const rejected = s.events("tolaria.command.rejected");
      expect(rejected.every((e) => e.level === TelemetryLevel.CRITICAL)).toBe(true);
      expect(rejected.map((e) => [e.attributes?.commandId, e.attributes?.reason])).toEqual([
        ["forged", "invalid_signature"],
        ["replay", "nonce_replayed"],
        ["stale", "stale_command"],
        ["too-high", "optimizer_out_of_bounds"],
        ["pruning", "unsupported_command"],
      ]);
      expect(rejected[3]?.attributes?.detail).toBe(
        "payload.learningRate 5 is above tolaria.learningRateMax 1",
      );
      expect(rejected[4]?.attributes?.detail).toContain("STRUCTURAL_PRUNING");
      expect(s.events("tolaria.command.applied").map((e) => e.attributes?.commandId)).toEqual([
        "first",
        "halt-2",
      ]);
      const counted = s.packets.flatMap((p) =>
        p.metrics
          .filter((m) => m.name === "tolaria.command.rejections")
          .map((m) => [m.attributes?.reason, m.value]),
      );
      expect(counted).toContainEqual(["invalid_signature", 1]);
    } finally {
      await s.close();
    }
  }, 40_000);
  it("PAUSE holds the training at its step boundary (no epoch ends) until a resume", async () => {
    const s = await stage();
    const pause = (id: string, resume: boolean) =>
      command(s, id, CommandType.PAUSE, { kind: "pause", resume, reason: "test" });
    await send(s, pause("pause", false));
    const h = startActor(createTolariaActor({ env: s.env, presets }), { env: s.env, handleSignals: false });
    try {
      await until(() => s.events("tolaria.command.applied").length === 1, "the pause applied", 10_000);
      await sleep(1_500);
      expect(s.packets.flatMap((p) => p.metrics.filter((m) => m.name === "tolaria.epoch.loss"))).toEqual([]);
      await send(s, pause("resume", true));
      await until(
        () => s.packets.some((p) => p.metrics.some((m) => m.name === "tolaria.epoch.loss")),
        "an epoch after the resume",
        20_000,
      );
      await send(s, halt(s, "halt-3"));
      expect(await h.done).toBe(ActorExitCode.ok);
      expect(s.events("tolaria.command.applied").map((e) => e.attributes?.commandId)).toEqual([
        "pause",
        "resume",
        "halt-3",
      ]);
    } finally {
      await s.close();
    }
  }, 40_000);
});
