import { describe, expect, it } from "vitest";
import { CommandType, EmergencyLevel, TelemetryLevel } from "../../contracts/enums.ts";
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
  tolariaStage,
} from "./actor-fixture.ts";
import { CheckpointStore } from "./checkpoints.ts";
import { createTolariaActor } from "./main.ts";
import { trainingDigest } from "./snapshot-digest.ts";

const fixture = useNatsServer();

/**
 * The spirals job with AdamW at learning rate 1 (the settings' learningRateMax): deterministic, its
 * epoch 4 loss is 0.244 above epoch 3's, a loss spike with tolaria.lossSpikeDelta 0.15 (the reference's
 * max_loss_spike, set in each test).
 */
const hotJob: JobPreset = {
  ...spiralsGrowthPreset,
  name: "spirals-hot",
  epochs: 1_000,
  optimizer: { kind: "adamw", lr: 1, weightDecay: 0 },
};
const SPIKE_EPOCH = 4;
const SPIKE_STEP = SPIKE_EPOCH * hotJob.stepsPerEpoch;
const presets = { [hotJob.name]: hotJob };

describe("tolaria's rollback in the loop (real nats-server, onnxruntime, files)", () => {
  it("a loss spike rolls back to the last good snapshot bit for bit, counted, reported, level ELEVATED; the epoch trains again", async () => {
    const s = await tolariaStage(fixture, hotJob.name, {
      timeouts: { decisionDeadlineMs: 20 },
      tolaria: { breaker: { failureThreshold: 1_000_000 }, lossSpikeDelta: 0.15 },
    });
    const h = startActor(createTolariaActor({ env: s.env, presets }), { env: s.env, handleSignals: false });
    try {
      await until(() => s.events("tolaria.rollback.restored").length > 0, "a rollback", 30_000);
      await until(
        async () => (await storedStatePackets(s)).some((p) => p.packetId.endsWith("-t1")),
        "a packet of the timeline after the rollback",
        30_000,
      );
      await sendCommand(
        s,
        signedCommand(s, "halt", CommandType.EMERGENCY, {
          kind: "emergency",
          level: EmergencyLevel.HALT,
          reason: "test",
        }),
      );
      expect(await h.done).toBe(ActorExitCode.ok);
      const failed = s.events("tolaria.epoch.failed")[0];
      expect(failed?.level).toBe(TelemetryLevel.WARNING);
      expect(failed?.attributes).toMatchObject({ epoch: String(SPIKE_EPOCH), reason: "loss_spike" });

      const rollback = s.events("tolaria.rollback.restored")[0];
      const reference = await referenceDigest(hotJob, SPIKE_STEP);
      expect(rollback?.attributes).toMatchObject({
        tier: "fast",
        cause: "loss_spike",
        fromStep: String(SPIKE_STEP + hotJob.stepsPerEpoch),
        toStep: String(SPIKE_STEP),
        toEpoch: String(SPIKE_EPOCH),
        restoredSha256: reference,
        snapshotSha256: reference,
        seedsRemoved: "",
        seedsRestored: "",
      });
      expect(rollback?.attributes?.discardedSha256).not.toBe(reference);
      const counted = s.packets.flatMap((p) =>
        p.metrics.filter((m) => m.name === "tolaria.rollback.total").map((m) => m.value),
      );
      expect(counted[0]).toBe(1);

      // No packet (and no Tamiyo round) for the failed epoch; the epoch trained again has its own id.
      const ids = (await storedStatePackets(s)).map((p) => p.packetId);
      expect(ids.slice(0, SPIKE_EPOCH + 1)).toEqual([
        ...[...Array(SPIKE_EPOCH).keys()].map((e) => `${s.run}-epoch-${e}`),
        `${s.run}-epoch-${SPIKE_EPOCH}-t1`,
      ]);

      const signals = await storedSignals(s);
      expect(signals[0]).toMatchObject({
        level: EmergencyLevel.ELEVATED,
        reason: "failed epoch: loss_spike",
        attributes: expect.objectContaining({ mode: "automatic", epoch: String(SPIKE_EPOCH) }),
      });
      expect(signals.at(-1)?.attributes.commandId).toBe("halt");
    } finally {
      await s.close();
    }
  }, 60_000);

  it("failed epochs in a row up to tolaria.haltAfterFailedEpochs halt the run after the rollback, with a final checkpoint of the restored state", async () => {
    const s = await tolariaStage(fixture, hotJob.name, {
      timeouts: { decisionDeadlineMs: 20 },
      tolaria: { breaker: { failureThreshold: 1_000_000 }, haltAfterFailedEpochs: 1, lossSpikeDelta: 0.15 },
    });
    const h = startActor(createTolariaActor({ env: s.env, presets }), { env: s.env, handleSignals: false });
    try {
      expect(await h.done).toBe(ActorExitCode.ok);
      expect(s.events("tolaria.rollback.restored").map((e) => e.attributes?.toStep)).toEqual([
        String(SPIKE_STEP),
      ]);
      const signals = await storedSignals(s);
      expect(signals.map((x) => [x.level, x.attributes.mode])).toEqual([[EmergencyLevel.HALT, "automatic"]]);
      expect(signals[0]?.reason).toBe("HALT (automatic): 1 failed epochs in a row (last: loss_spike)");
      const store = await CheckpointStore.open(s.checkpoints, TEST_KEEP_CHECKPOINTS);
      const final = store.entries.at(-1);
      expect(final?.file).toBe(signals[0]?.attributes.checkpoint);
      const loaded = await store.load(final?.id);
      expect(loaded.snapshot.progress.steps).toBe(SPIKE_STEP);
      expect(trainingDigest(loaded.snapshot.training)).toBe(await referenceDigest(hotJob, SPIKE_STEP));
    } finally {
      await s.close();
    }
  }, 60_000);

  it("a fast restore past its deadline (tolaria.rollback.fastDeadlineMs tiny) escalates to HALT: the run stops with a final checkpoint", async () => {
    const s = await tolariaStage(fixture, hotJob.name, {
      timeouts: { decisionDeadlineMs: 20 },
      tolaria: {
        breaker: { failureThreshold: 1_000_000 },
        lossSpikeDelta: 0.15,
        rollback: { fastDeadlineMs: 0.001 },
      },
    });
    const h = startActor(createTolariaActor({ env: s.env, presets }), { env: s.env, handleSignals: false });
    try {
      expect(await h.done).toBe(ActorExitCode.ok);
      const missed = s.events("tolaria.rollback.deadline_exceeded");
      expect(missed).toHaveLength(1);
      expect(missed[0]?.level).toBe(TelemetryLevel.CRITICAL);
      expect(missed[0]?.attributes).toMatchObject({ tier: "fast", deadlineMs: "0.001", applied: "true" });
      expect(s.events("tolaria.rollback.restored")).toEqual([]);
      const signals = await storedSignals(s);
      expect(signals.map((x) => [x.level, x.attributes.mode])).toEqual([[EmergencyLevel.HALT, "automatic"]]);
      expect(signals[0]?.reason).toMatch(/^HALT \(automatic\): rollback_deadline: fast restore took /);
      const store = await CheckpointStore.open(s.checkpoints, TEST_KEEP_CHECKPOINTS);
      expect(store.entries.at(-1)?.file).toBe(signals[0]?.attributes.checkpoint);
      // The late restore was applied: the final checkpoint holds the last good state.
      const loaded = await store.load();
      expect(trainingDigest(loaded.snapshot.training)).toBe(await referenceDigest(hotJob, SPIKE_STEP));
    } finally {
      await s.close();
    }
  }, 60_000);
});
