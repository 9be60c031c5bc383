import { describe, expect, it } from "vitest";
import { publishToStream } from "../../bus/jetstream/publish.ts";
import { openArtifactStore } from "../../bus/objects.ts";
import { CommandType, EmergencyLevel, SeedLifecycleStage, TelemetryLevel } from "../../contracts/enums.ts";
import type { SeedDirective } from "../../contracts/messages/seed.ts";
import type { SystemStatePacket } from "../../contracts/messages/state.ts";
import { buildBlueprint } from "../../nn/blueprints/artifact.ts";
import type { JobPreset } from "../../nn/presets/job-preset.ts";
import { spiralsGrowthPreset } from "../../nn/presets/spirals-growth.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { until } from "../../test/until.ts";
import { startActor } from "../runtime/actor.ts";
import { ActorExitCode } from "../runtime/exit-codes.ts";
import {
  sendCommand,
  signedCommand,
  storedStatePackets,
  TEST_KEEP_CHECKPOINTS,
  type TolariaStage,
  tolariaStage,
} from "./actor-fixture.ts";
import { CheckpointStore } from "./checkpoints.ts";
import { directive, graftDirective } from "./directive-fixture.ts";
import { createTolariaActor } from "./main.ts";
import { trainingDigest } from "./snapshot-digest.ts";

const fixture = useNatsServer();

const longJob: JobPreset = { ...spiralsGrowthPreset, name: "spirals-long", epochs: 1_000 };
const presets = { [longJob.name]: longJob };
const EPOCH_STEPS = longJob.stepsPerEpoch;
const checkpointId = (epoch: number) => `ckpt-step-${String(epoch * EPOCH_STEPS).padStart(8, "0")}`;

const seedsOf = (p: SystemStatePacket) =>
  p.seedStates.filter((st) => st.stage !== SeedLifecycleStage.DORMANT).map((st) => st.seedId);

/** Waits for a stored packet (after the first `after`) that `cond` accepts; returns it. */
async function packetWhere(
  s: TolariaStage,
  after: number,
  cond: (p: SystemStatePacket) => boolean,
  what: string,
): Promise<{ packet: SystemStatePacket; index: number }> {
  let found: { packet: SystemStatePacket; index: number } | undefined;
  await until(
    async () => {
      const packets = await storedStatePackets(s);
      const index = packets.findIndex((p, i) => i >= after && cond(p));
      const packet = packets[index];
      if (packet !== undefined) found = { packet, index };
      return found !== undefined;
    },
    what,
    20_000,
  );
  if (found === undefined) throw new Error(`no packet: ${what}`);
  return found;
}

describe("a rollback across a graft and a cull (real nats-server, onnxruntime, files)", () => {
  it("gives back the host without the seed grafted after the snapshot, and the seed culled after it, bit for bit, naming the seeds", async () => {
    const s = await tolariaStage(fixture, longJob.name, {
      timeouts: { decisionDeadlineMs: 20 },
      tolaria: { breaker: { failureThreshold: 1_000_000 } },
    });
    const artifact = buildBlueprint(longJob.blueprint, 0);
    const stored = await (await openArtifactStore(s.bus, "kernels")).put(artifact.bytes);
    const kernel = {
      blueprintId: artifact.descriptor.blueprintId,
      artifactRef: stored.sha256,
      checksum: stored.sha256,
    };
    const sendDirective = (d: SeedDirective) =>
      publishToStream(s.bus, "seedDirective", { ...d, trainingRunId: s.run }, { params: { run: s.run } });
    const rollbackTo = async (id: string, toEpoch: number) => {
      await sendCommand(
        s,
        signedCommand(s, id, CommandType.ROLLBACK, {
          kind: "rollback",
          mode: "fast",
          toEpoch,
          reason: "test",
        }),
      );
      await until(
        () => s.events("tolaria.rollback.restored").some((e) => e.attributes?.commandId === id),
        id,
        20_000,
      );
    };
    const h = startActor(createTolariaActor({ env: s.env, presets }), { env: s.env, handleSignals: false });
    try {
      const before = await packetWhere(s, 1, () => true, "2 epochs without a seed");
      await sendDirective(graftDirective("s1-g0", 0, kernel));
      const grafted = await packetWhere(s, 0, (p) => seedsOf(p).includes("s1-g0"), "s1-g0 grafted");
      // The last packet without the seed: the snapshot at the start of the next epoch has none.
      const noSeedEpoch = grafted.packet.currentEpoch;
      expect(noSeedEpoch).toBeGreaterThan(before.packet.currentEpoch);
      const store = await CheckpointStore.open(s.checkpoints, TEST_KEEP_CHECKPOINTS);
      const expectedNoSeed = trainingDigest((await store.load(checkpointId(noSeedEpoch))).snapshot.training);
      await rollbackTo("rb-graft", noSeedEpoch);

      // Kasmina would name the slot's next seed s1-g1 (a used id is never named again).
      const afterGraftRollback = await packetWhere(
        s,
        grafted.index + 1,
        (p) => seedsOf(p).length === 0,
        "no seed",
      );
      expect(afterGraftRollback.packet.seedStates[0]?.seedId).toBe("s1-g1");
      await sendDirective(graftDirective("s1-g1", 0, kernel));
      const live = await packetWhere(
        s,
        afterGraftRollback.index + 1,
        (p) => seedsOf(p).includes("s1-g1"),
        "s1-g1 grafted",
      );
      const withSeedEpoch = live.packet.currentEpoch + 1;
      await sendDirective(directive("s1-g1", 1, { action: "remove", stage: SeedLifecycleStage.CULLED }));
      await packetWhere(s, live.index + 1, (p) => seedsOf(p).length === 0, "s1-g1 culled");
      const expectedWithSeed = trainingDigest(
        (
          await (
            await CheckpointStore.open(s.checkpoints, TEST_KEEP_CHECKPOINTS)
          ).load(checkpointId(withSeedEpoch))
        ).snapshot.training,
      );
      await rollbackTo("rb-cull", withSeedEpoch);
      await sendCommand(
        s,
        signedCommand(s, "halt", CommandType.EMERGENCY, {
          kind: "emergency",
          level: EmergencyLevel.HALT,
          reason: "test",
        }),
      );
      expect(await h.done).toBe(ActorExitCode.ok);

      const restored = s.events("tolaria.rollback.restored");
      expect(
        restored.map((e) => [
          e.attributes?.commandId,
          e.attributes?.seedsRemoved,
          e.attributes?.seedsRestored,
        ]),
      ).toEqual([
        ["rb-graft", "s1-g0", ""],
        ["rb-cull", "", "s1-g1"],
      ]);
      expect(restored[0]?.attributes?.restoredSha256).toBe(expectedNoSeed);
      expect(restored[1]?.attributes?.restoredSha256).toBe(expectedWithSeed);
      expect(expectedWithSeed).not.toBe(expectedNoSeed);
      expect(
        s
          .events("tolaria.rollback.seeds_changed")
          .map((e) => [e.level, e.attributes?.seedsRemoved, e.attributes?.seedsRestored]),
      ).toEqual([
        [TelemetryLevel.WARNING, "s1-g0", ""],
        [TelemetryLevel.WARNING, "", "s1-g1"],
      ]);
      // The HALT came right after the second rollback: the final checkpoint holds the seed back.
      const final = await (await CheckpointStore.open(s.checkpoints, TEST_KEEP_CHECKPOINTS)).load();
      expect(final.snapshot.seeds.map((x) => [x.seedId, x.stage])).toEqual([
        ["s1-g1", SeedLifecycleStage.TRAINING],
      ]);
      expect(final.snapshot.training.params.tensors.size).toBeGreaterThan(4);
    } finally {
      await s.close();
    }
  }, 90_000);
});
