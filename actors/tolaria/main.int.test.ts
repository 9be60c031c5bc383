import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { jetStreamManagerOf } from "../../bus/jetstream/context.ts";
import { streamName } from "../../bus/jetstream/declarations.ts";
import { publishToStream } from "../../bus/jetstream/publish.ts";
import { runConsumerName } from "../../bus/jetstream/run-consumers.ts";
import { openArtifactStore } from "../../bus/objects.ts";
import { concreteSubject } from "../../bus/typed.ts";
import { decode } from "../../contracts/codec.ts";
import { EmergencyLevel, SeedLifecycleStage, TelemetryLevel } from "../../contracts/enums.ts";
import type { EmergencySignal } from "../../contracts/messages/emergency.ts";
import type { SystemStatePacket } from "../../contracts/messages/state.ts";
import { storeName } from "../../contracts/stores.ts";
import { buildBlueprint } from "../../nn/blueprints/artifact.ts";
import type { JobPreset } from "../../nn/presets/job-preset.ts";
import { spiralsGrowthPreset } from "../../nn/presets/spirals-growth.ts";
import { type ActorStage, actorStage } from "../../test/actor-stage.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { startActor } from "../runtime/actor.ts";
import { ActorExitCode } from "../runtime/exit-codes.ts";
import { bootstrapSettings } from "../runtime/settings-bootstrap.ts";
import { BOUNDARY_METRICS } from "./boundary-metrics.ts";
import { graftDirective } from "./directive-fixture.ts";
import { createTolariaActor } from "./main.ts";

const fixture = useNatsServer();

/** The spirals job cut to 3 epochs (the preset is plain data: only the epoch count differs). */
const shortJob: JobPreset = { ...spiralsGrowthPreset, name: "spirals-short", epochs: 3 };
const presets = { [shortJob.name]: shortJob };

type Stage = ActorStage;

async function stage(resources: "all" | "settings only" = "all"): Promise<Stage> {
  const checkpoints = await mkdtemp(join(tmpdir(), "tolaria-ckpt-"));
  const s = await actorStage(fixture, "tolaria", {
    resources,
    signingKey: "tolaria-main-test-key-0123456789",
    extraEnv: { ESPER_JOB: shortJob.name, ESPER_TOLARIA_CHECKPOINT_DIR: checkpoints },
  });
  // Tamiyo is subscribed but never answers: every evaluate request runs into its deadline, kept short.
  if (resources === "all") await bootstrapSettings(s.bus, { timeouts: { decisionDeadlineMs: 50 } });
  const silentTamiyo = s.bus.nc.subscribe(concreteSubject(s.ns, "tamiyoEvaluate", undefined));
  await s.bus.nc.flush();
  return {
    ...s,
    async close() {
      silentTamiyo.unsubscribe();
      await s.close();
      await rm(checkpoints, { recursive: true, force: true });
    },
  };
}

async function storedPackets(s: Stage): Promise<SystemStatePacket[]> {
  const jsm = await jetStreamManagerOf(s.bus);
  const stream = streamName(s.ns, "stateHistory");
  const info = await jsm.streams.info(stream);
  const out: SystemStatePacket[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (m === null) throw new Error(`no message ${seq} in ${stream}`);
    expect(m.subject).toBe(`${s.ns}.state.${s.run}`);
    out.push(decode("SystemStatePacket", m.data));
  }
  return out;
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

describe("the tolaria actor in this process (real nats-server)", () => {
  it("runs the default job (ESPER_JOB unset: spirals-growth, announced) through every epoch with no Tamiyo answering: 3 timed-out decisions open the breaker (CONSERVATIVE signal), the rest skip Tamiyo in conservative mode, exits 0", async () => {
    const s = await stage();
    const { ESPER_JOB: _job, ...env } = s.env;
    const h = startActor(createTolariaActor({ env }), { env, handleSignals: false });
    try {
      expect(await h.done).toBe(ActorExitCode.ok);
      const packets = await storedPackets(s);
      expect(packets.map((p) => p.currentEpoch)).toEqual([...Array(spiralsGrowthPreset.epochs).keys()]);
      expect(packets.every((p) => p.trainingRunId === s.run)).toBe(true);
      const attributesOf = (p: SystemStatePacket) => ({
        trainingRunId: s.run,
        epoch: String(p.currentEpoch),
        packetId: p.packetId,
      });
      // The breaker (3 failures, 30 s open: longer than the run) opens at the third timeout.
      const asked = packets.slice(0, 3);
      const skipped = packets.slice(3);
      const timeouts = s.events("tolaria.decision.timeout");
      expect(timeouts.map((e) => e.attributes)).toEqual(asked.map(attributesOf));
      expect(timeouts.every((e) => e.level === TelemetryLevel.WARNING)).toBe(true);
      const skips = s.events("tolaria.decision.skipped");
      expect(skips.map((e) => e.attributes)).toEqual(skipped.map(attributesOf));
      expect(skips.every((e) => e.level === TelemetryLevel.WARNING)).toBe(true);
      expect(packets.map((p) => p.trainingMetrics.extra.conservativeMode)).toEqual(
        packets.map((_, i) => (i < 3 ? 0 : 1)),
      );
      expect(
        skipped.every((p) => p.trainingMetrics.extra.emergencyLevel === EmergencyLevel.CONSERVATIVE),
      ).toBe(true);
      expect(
        s.events("tolaria.breaker.state_changed").map((e) => [e.attributes?.from, e.attributes?.to]),
      ).toEqual([["CLOSED", "OPEN"]]);
      expect(s.events("tolaria.conservative_mode.entered")).toHaveLength(1);
      const signals = await storedSignals(s);
      expect(signals.map((x) => [x.level, x.attributes.mode, x.attributes.epoch])).toEqual([
        [EmergencyLevel.CONSERVATIVE, "automatic", "2"],
      ]);
      expect(signals[0]?.reason).toMatch(/^breaker_open: /);
      for (const [name, epochs] of [
        [BOUNDARY_METRICS.stateAssembly, packets],
        [BOUNDARY_METRICS.decisionRoundTrip, asked],
        [BOUNDARY_METRICS.epochBoundary, packets],
      ] as const) {
        const points = s.packets.flatMap((p) => p.metrics.filter((m) => m.name === name));
        expect(
          points.map((m) => m.attributes?.epoch),
          name,
        ).toEqual(epochs.map((p) => String(p.currentEpoch)));
        expect(
          points.every((m) => m.attributes?.trainingRunId === s.run && m.value >= 0),
          name,
        ).toBe(true);
      }
      expect(s.events("tolaria.job.selected")[0]?.attributes).toMatchObject({
        job: spiralsGrowthPreset.name,
        defaulted: "true",
      });
    } finally {
      await s.close();
    }
  }, 60_000);

  it("refuses a graft whose checksum does not match the stored artifact (CRITICAL, acked) and trains on", async () => {
    const s = await stage();
    const artifact = buildBlueprint(shortJob.blueprint, 0);
    const kernels = await openArtifactStore(s.bus, "kernels");
    const stored = await kernels.put(artifact.bytes);
    const wrong = "0".repeat(64);
    const graft = {
      ...graftDirective("s1-g0", 0, {
        blueprintId: artifact.descriptor.blueprintId,
        artifactRef: stored.sha256,
        checksum: wrong,
      }),
      trainingRunId: s.run,
    };
    await publishToStream(s.bus, "seedDirective", graft, { params: { run: s.run } });
    const h = startActor(createTolariaActor({ env: s.env, presets }), { env: s.env, handleSignals: false });
    try {
      expect(await h.done).toBe(ActorExitCode.ok);
      const refused = s.events("tolaria.directive.refused");
      expect(refused).toHaveLength(1);
      expect(refused[0]?.level).toBe(TelemetryLevel.CRITICAL);
      expect(refused[0]?.attributes).toMatchObject({ directiveId: graft.directiveId, trainingRunId: s.run });
      expect(refused[0]?.attributes?.reason).toContain(wrong);
      expect(refused[0]?.attributes?.reason).toContain(stored.sha256);

      const packets = await storedPackets(s);
      expect(packets).toHaveLength(shortJob.epochs);
      expect(packets.flatMap((p) => p.seedStates.map((st) => st.stage))).toEqual(
        packets.map(() => SeedLifecycleStage.DORMANT),
      );

      const jsm = await jetStreamManagerOf(s.bus);
      const consumer = await jsm.consumers.info(
        streamName(s.ns, "seeds"),
        runConsumerName("tolaria-seed-directives", s.run),
      );
      expect(consumer.num_ack_pending).toBe(0);
      expect(consumer.num_redelivered).toBe(0);
      expect(consumer.ack_floor.consumer_seq).toBe(1);
      // Acked as refused at its step boundary, not dead-lettered when the training ended.
      expect((await jsm.streams.info(streamName(s.ns, "deadLetters"))).state.messages).toBe(0);
    } finally {
      await s.close();
    }
  }, 60_000);

  it("applies a graft whose kernel matches, acks it, and the packets show the seed training from epoch 0", async () => {
    const s = await stage();
    const artifact = buildBlueprint(shortJob.blueprint, 0);
    const stored = await (await openArtifactStore(s.bus, "kernels")).put(artifact.bytes);
    const kernel = {
      blueprintId: artifact.descriptor.blueprintId,
      artifactRef: stored.sha256,
      checksum: stored.sha256,
    };
    const graft = { ...graftDirective("s1-g0", 0, kernel), trainingRunId: s.run };
    await publishToStream(s.bus, "seedDirective", graft, { params: { run: s.run } });
    const h = startActor(createTolariaActor({ env: s.env, presets }), { env: s.env, handleSignals: false });
    try {
      expect(await h.done).toBe(ActorExitCode.ok);
      expect(s.events("tolaria.directive.refused")).toEqual([]);
      const packets = await storedPackets(s);
      expect(packets.map((p) => p.seedStates.map((st) => [st.seedId, st.stage]))).toEqual(
        packets.map(() => [["s1-g0", SeedLifecycleStage.TRAINING]]),
      );
      const jsm = await jetStreamManagerOf(s.bus);
      const consumer = await jsm.consumers.info(
        streamName(s.ns, "seeds"),
        runConsumerName("tolaria-seed-directives", s.run),
      );
      expect(consumer.num_ack_pending).toBe(0);
      expect(consumer.ack_floor.consumer_seq).toBe(1);
    } finally {
      await s.close();
    }
  }, 60_000);

  it("an unknown ESPER_JOB fails preflight listing the known presets", async () => {
    const s = await stage();
    try {
      const env = { ...s.env, ESPER_JOB: "mnist" };
      const h = startActor(createTolariaActor({ env, presets }), { env, handleSignals: false });
      expect(await h.done).toBe(ActorExitCode.preflightFailed);
      expect(h.lifecycle.failureReason).toContain(
        "ESPER_JOB='mnist' is not a known job preset; known: spirals-short",
      );
    } finally {
      await s.close();
    }
  });

  it("without ESPER_TOLARIA_CHECKPOINT_DIR, or with a relative one, preflight fails naming it (no default)", async () => {
    const s = await stage();
    try {
      const { ESPER_TOLARIA_CHECKPOINT_DIR: _dir, ...unset } = s.env;
      const h = startActor(createTolariaActor({ env: unset, presets }), { env: unset, handleSignals: false });
      expect(await h.done).toBe(ActorExitCode.preflightFailed);
      expect(h.lifecycle.failureReason).toContain("ESPER_TOLARIA_CHECKPOINT_DIR is not set");
      const relative = { ...s.env, ESPER_TOLARIA_CHECKPOINT_DIR: "run/tolaria" };
      const r = startActor(createTolariaActor({ env: relative, presets }), {
        env: relative,
        handleSignals: false,
      });
      expect(await r.done).toBe(ActorExitCode.preflightFailed);
      expect(r.lifecycle.failureReason).toContain(
        "ESPER_TOLARIA_CHECKPOINT_DIR='run/tolaria' must be an absolute path",
      );
    } finally {
      await s.close();
    }
  });

  it("without the kernel store, preflight fails naming it and `esper resources ensure`", async () => {
    const s = await stage("settings only");
    try {
      const h = startActor(createTolariaActor({ env: s.env, presets }), { env: s.env, handleSignals: false });
      expect(await h.done).toBe(ActorExitCode.preflightFailed);
      expect(h.lifecycle.failureReason).toContain(
        `object store ${storeName(s.ns, "kernels")} does not exist: start Weatherlight or run \`esper resources ensure\``,
      );
    } finally {
      await s.close();
    }
  });
});
