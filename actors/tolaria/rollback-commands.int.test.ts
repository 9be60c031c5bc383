import { describe, expect, it } from "vitest";
import { CircuitBreakerState, CommandType, EmergencyLevel, TelemetryLevel } from "../../contracts/enums.ts";
import type { JobPreset } from "../../nn/presets/job-preset.ts";
import { spiralsGrowthPreset } from "../../nn/presets/spirals-growth.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { until } from "../../test/until.ts";
import { startActor } from "../runtime/actor.ts";
import { ActorExitCode } from "../runtime/exit-codes.ts";
import {
  referenceDigest,
  sendCommand,
  signedCommand,
  storedSignals,
  storedStatePackets,
  TEST_KEEP_CHECKPOINTS,
  type TolariaStage,
  tolariaStage,
} from "./actor-fixture.ts";
import { CheckpointStore } from "./checkpoints.ts";
import { createTolariaActor } from "./main.ts";
import { trainingDigest } from "./snapshot-digest.ts";

const fixture = useNatsServer();

/** A long job: only a HALT ends it within a test. */
const longJob: JobPreset = { ...spiralsGrowthPreset, name: "spirals-long", epochs: 1_000 };
const presets = { [longJob.name]: longJob };
const EPOCH_STEPS = longJob.stepsPerEpoch;

const rollback = (
  s: TolariaStage,
  id: string,
  p: { mode: "fast" | "full"; toEpoch?: number; checkpointId?: string },
) => signedCommand(s, id, CommandType.ROLLBACK, { kind: "rollback", reason: "operator test", ...p });
const breaker = (s: TolariaStage, id: string, desiredState: 1 | 2 | 3) =>
  signedCommand(s, id, CommandType.CIRCUIT_BREAKER, {
    kind: "circuitBreaker",
    desiredState,
    rationale: "test",
  });
const halt = (s: TolariaStage, id: string) =>
  signedCommand(s, id, CommandType.EMERGENCY, {
    kind: "emergency",
    level: EmergencyLevel.HALT,
    reason: "test",
  });

const appliedIds = (s: TolariaStage) =>
  s.events("tolaria.command.applied").map((e) => e.attributes?.commandId);

describe("ROLLBACK and CIRCUIT_BREAKER commands to tolaria (real nats-server, onnxruntime, files)", () => {
  it("rolls back by tier: fast to an epoch's start, full to a checkpoint, bit for bit; a target not held is rejected; the breaker forced open skips Tamiyo until closed", async () => {
    const s = await tolariaStage(fixture, longJob.name, {
      timeouts: { decisionDeadlineMs: 20 },
      tolaria: { breaker: { failureThreshold: 1_000_000 } },
    });
    const h = startActor(createTolariaActor({ env: s.env, presets }), { env: s.env, handleSignals: false });
    try {
      await until(async () => (await storedStatePackets(s)).length >= 3, "3 epochs", 20_000);
      await sendCommand(s, rollback(s, "rb-fast", { mode: "fast", toEpoch: 1 }));
      await sendCommand(s, rollback(s, "rb-full", { mode: "full", checkpointId: "ckpt-step-00000000" }));
      await sendCommand(s, rollback(s, "rb-missing", { mode: "fast", toEpoch: 999 }));
      await sendCommand(s, breaker(s, "cb-open", CircuitBreakerState.OPEN));
      await until(() => s.events("tolaria.decision.skipped").length >= 2, "2 epochs skipping Tamiyo", 20_000);
      await sendCommand(s, breaker(s, "cb-close", CircuitBreakerState.CLOSED));
      await until(() => appliedIds(s).includes("cb-close"), "the breaker closed", 20_000);
      const timeoutsBefore = s.events("tolaria.decision.timeout").length;
      await until(
        () => s.events("tolaria.decision.timeout").length > timeoutsBefore,
        "Tamiyo asked again",
        20_000,
      );
      await sendCommand(s, halt(s, "halt"));
      expect(await h.done).toBe(ActorExitCode.ok);

      expect(appliedIds(s)).toEqual(["rb-fast", "rb-full", "cb-open", "cb-close", "halt"]);
      const rejected = s.events("tolaria.command.rejected");
      expect(rejected.map((e) => [e.attributes?.commandId, e.attributes?.reason])).toEqual([
        ["rb-missing", "rollback_unavailable"],
      ]);
      expect(rejected[0]?.attributes?.detail).toMatch(
        /no snapshot at the start of epoch 999 \(it holds epochs \[0\]\)/,
      );

      const restored = s.events("tolaria.rollback.restored");
      expect(
        restored.map((e) => [e.attributes?.commandId, e.attributes?.tier, e.attributes?.toStep]),
      ).toEqual([
        ["rb-fast", "fast", String(EPOCH_STEPS)],
        ["rb-full", "full", "0"],
      ]);
      expect(restored[0]?.attributes?.restoredSha256).toBe(await referenceDigest(longJob, EPOCH_STEPS));
      expect(restored[1]?.attributes?.restoredSha256).toBe(await referenceDigest(longJob, 0));
      expect(restored[1]?.attributes?.checkpoint).toBe("ckpt-step-00000000.bin");
      const store = await CheckpointStore.open(s.checkpoints, TEST_KEEP_CHECKPOINTS);
      expect(trainingDigest((await store.load("ckpt-step-00000000")).snapshot.training)).toBe(
        restored[1]?.attributes?.restoredSha256,
      );

      expect(
        s.events("tolaria.breaker.state_changed").map((e) => [e.attributes?.from, e.attributes?.to]),
      ).toEqual([
        ["CLOSED", "OPEN"],
        ["OPEN", "CLOSED"],
      ]);
      expect(s.events("tolaria.conservative_mode.entered")).toHaveLength(1);
      expect(s.events("tolaria.conservative_mode.cleared")).toHaveLength(1);
      const packets = await storedStatePackets(s);
      // Epochs trained again after a rollback publish under new ids (none is dropped as a duplicate).
      const ids = packets.map((p) => p.packetId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toContain(`${s.run}-epoch-0`);
      expect(ids).toContain(`${s.run}-epoch-0-t2`);
      const skippedIds = s.events("tolaria.decision.skipped").map((e) => e.attributes?.packetId);
      expect(
        packets.filter((p) => p.trainingMetrics.extra.conservativeMode === 1).map((p) => p.packetId),
      ).toEqual(skippedIds);
      // A forced breaker is not an automatic trigger: no level was raised before the HALT.
      expect((await storedSignals(s)).map((x) => x.level)).toEqual([EmergencyLevel.HALT]);
    } finally {
      await s.close();
    }
  }, 90_000);

  it("a full restore past its deadline (tolaria.rollback.fullDeadlineMs tiny) is cancelled, nothing restored, and the run halts with a final checkpoint", async () => {
    const s = await tolariaStage(fixture, longJob.name, {
      timeouts: { decisionDeadlineMs: 20 },
      tolaria: { breaker: { failureThreshold: 1_000_000 }, rollback: { fullDeadlineMs: 0.001 } },
    });
    const h = startActor(createTolariaActor({ env: s.env, presets }), { env: s.env, handleSignals: false });
    try {
      await until(async () => (await storedStatePackets(s)).length >= 2, "2 epochs", 20_000);
      await sendCommand(s, rollback(s, "rb-late", { mode: "full", toEpoch: 1 }));
      expect(await h.done).toBe(ActorExitCode.ok);

      const rejected = s.events("tolaria.command.rejected");
      expect(rejected.map((e) => [e.attributes?.commandId, e.attributes?.reason])).toEqual([
        ["rb-late", "rollback_deadline_exceeded"],
      ]);
      const missed = s.events("tolaria.rollback.deadline_exceeded");
      expect(missed.map((e) => e.level)).toEqual([TelemetryLevel.CRITICAL]);
      expect(missed[0]?.attributes).toMatchObject({ tier: "full", applied: "false", commandId: "rb-late" });
      expect(s.events("tolaria.rollback.restored")).toEqual([]);
      const signals = await storedSignals(s);
      expect(signals.map((x) => [x.level, x.attributes.mode])).toEqual([[EmergencyLevel.HALT, "automatic"]]);
      expect(signals[0]?.reason).toMatch(
        /^HALT \(automatic\): rollback_deadline: full restore cancelled after /,
      );
      const store = await CheckpointStore.open(s.checkpoints, TEST_KEEP_CHECKPOINTS);
      const final = store.entries.at(-1);
      expect(final?.file).toBe(signals[0]?.attributes.checkpoint);
      // Cancelled: the trainer was not rolled back to the start of epoch 1.
      expect(final?.step).toBeGreaterThan(2 * EPOCH_STEPS - 1);
      expect((await store.load(final?.id)).snapshot.progress.steps).toBe(final?.step);
    } finally {
      await s.close();
    }
  }, 60_000);
});
