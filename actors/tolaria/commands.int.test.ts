import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { CommandType, EmergencyLevel, TelemetryLevel } from "../../contracts/enums.ts";
import type { JobPreset } from "../../nn/presets/job-preset.ts";
import { spiralsGrowthPreset } from "../../nn/presets/spirals-growth.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { until } from "../../test/until.ts";
import { startActor } from "../runtime/actor.ts";
import { ActorExitCode } from "../runtime/exit-codes.ts";
import {
  type SignOptions,
  sendCommand,
  signedCommand,
  storedSignals,
  TEST_KEEP_CHECKPOINTS,
  type TolariaStage,
  tolariaStage,
} from "./actor-fixture.ts";
import { parseManifest } from "./checkpoint-manifest.ts";
import { CheckpointStore } from "./checkpoints.ts";
import { createTolariaActor } from "./main.ts";

const fixture = useNatsServer();

/** A long job: only a HALT ends it within a test. */
const longJob: JobPreset = { ...spiralsGrowthPreset, name: "spirals-long", epochs: 1_000 };
const presets = { [longJob.name]: longJob };

// The breaker never opens here: a silent Tamiyo must not add CONSERVATIVE signals to these tests.
const stage = () =>
  tolariaStage(fixture, longJob.name, {
    timeouts: { decisionDeadlineMs: 20 },
    tolaria: { breaker: { failureThreshold: 1_000_000 } },
  });

const halt = (s: TolariaStage, id: string) =>
  signedCommand(s, id, CommandType.EMERGENCY, {
    kind: "emergency",
    level: EmergencyLevel.HALT,
    reason: "test halt",
  });

describe("tolaria's signed commands (real nats-server, real files)", () => {
  it("a HALT stops the run at a step boundary with a verified final checkpoint, an EmergencySignal and exit 0", async () => {
    const s = await stage();
    const h = startActor(createTolariaActor({ env: s.env, presets }), { env: s.env, handleSignals: false });
    try {
      await sendCommand(
        s,
        signedCommand(s, "elevate-1", CommandType.EMERGENCY, {
          kind: "emergency",
          level: EmergencyLevel.ELEVATED,
          reason: "operator worry",
        }),
      );
      await sendCommand(s, halt(s, "halt-1"));
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
      const lr = (id: string, learningRate: number, o: SignOptions = {}) =>
        signedCommand(
          s,
          id,
          CommandType.OPTIMIZER,
          { kind: "optimizer", optimizerId: "host", learningRate },
          o,
        );
      await sendCommand(s, lr("forged", 0.01, { key: "not-the-signing-key-0123456789" }));
      await sendCommand(s, lr("first", 0.01, { nonce: "shared-nonce" }));
      await sendCommand(s, lr("replay", 0.02, { nonce: "shared-nonce" }));
      await sendCommand(s, lr("stale", 0.01, { issuedAt: Date.now() - 120_000, freshnessWindowMs: 1_000 }));
      await sendCommand(s, lr("too-high", 5));
      await sendCommand(
        s,
        signedCommand(s, "pruning", CommandType.STRUCTURAL_PRUNING, {
          kind: "structuralPruning",
          targetRatio: 0.5,
        }),
      );
      await sendCommand(s, halt(s, "halt-2"));
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
      signedCommand(s, id, CommandType.PAUSE, { kind: "pause", resume, reason: "test" });
    await sendCommand(s, pause("pause", false));
    const h = startActor(createTolariaActor({ env: s.env, presets }), { env: s.env, handleSignals: false });
    try {
      await until(() => s.events("tolaria.command.applied").length === 1, "the pause applied", 10_000);
      await sleep(1_500);
      expect(s.packets.flatMap((p) => p.metrics.filter((m) => m.name === "tolaria.epoch.loss"))).toEqual([]);
      await sendCommand(s, pause("resume", true));
      await until(
        () => s.packets.some((p) => p.metrics.some((m) => m.name === "tolaria.epoch.loss")),
        "an epoch after the resume",
        20_000,
      );
      await sendCommand(s, halt(s, "halt-3"));
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
