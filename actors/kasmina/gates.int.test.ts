import { Objm } from "@nats-io/obj";
import { describe, expect, it } from "vitest";
import { jetStreamManagerOf } from "../../bus/jetstream/context.ts";
import { streamName } from "../../bus/jetstream/declarations.ts";
import { publishToStream } from "../../bus/jetstream/publish.ts";
import { concreteSubject } from "../../bus/typed.ts";
import { decode } from "../../contracts/codec.ts";
import { SeedLifecycleStage as S, SeedOperation, TelemetryLevel } from "../../contracts/enums.ts";
import type { SeedDirective, SeedReport } from "../../contracts/messages/seed.ts";
import { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import { storeName } from "../../contracts/stores.ts";
import { buildBlueprint } from "../../nn/blueprints/artifact.ts";
import { spiralsGrowthPreset } from "../../nn/presets/spirals-growth.ts";
import { type ActorStage, actorStage } from "../../test/actor-stage.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { until } from "../../test/until.ts";
import { type ActorHandle, startActor } from "../runtime/actor.ts";
import { ActorExitCode } from "../runtime/exit-codes.ts";
import { actor as urza } from "../urza/main.ts";
import { actor as kasmina } from "./main.ts";
import { seedReportOf, signedSeedCommand } from "./testing/seed-messages.ts";

const fixture = useNatsServer();
const GATES = WorkerSettings.parse({}).gates;
const KEY = "kasmina-gates-test-signing-key";
const SEED = "s1-g0";
/** The kernel the spirals job (the default job) names for its slot s1 (width 4), as Urza's library builds it. */
const KERNEL = buildBlueprint(spiralsGrowthPreset.blueprint, 0).descriptor;

/** The directives stored on `seed.<run>.directive`, oldest first. */
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

interface Stack {
  readonly s: ActorStage;
  readonly urza: ActorHandle;
  kasmina?: ActorHandle;
  close(): Promise<void>;
}

/** A fresh namespace with a real Urza (library published, onnxruntime prewarm) running. */
async function stack(): Promise<Stack> {
  const s = await actorStage(fixture, "kasmina", { signingKey: KEY });
  const u = startActor(urza, { env: { ...s.env, ESPER_INSTANCE_ID: "urza-1" }, handleSignals: false });
  await until(() => u.lifecycle.state === "running", "urza running", 60_000);
  const st: Stack = {
    s,
    urza: u,
    async close() {
      for (const h of [st.kasmina, u]) h?.drain("test cleanup");
      await Promise.all([st.kasmina?.done, u.done]);
      await s.close();
    },
  };
  return st;
}

function startKasmina(st: Stack): ActorHandle {
  st.kasmina = startActor(kasmina, { env: st.s.env, handleSignals: false });
  return st.kasmina;
}

const germinate = (s: ActorStage, commandId: string) =>
  publishToStream(
    s.bus,
    "command",
    signedSeedCommand(s.run, SEED, commandId, KEY, SeedOperation.GERMINATE, KERNEL.blueprintId),
    {
      params: { run: s.run, target: "kasmina" },
    },
  );

let reportCount = 0;
async function sendReports(s: ActorStage, stage: SeedReport["stage"], n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = seedReportOf(s.run, SEED, stage, ++reportCount);
    await publishToStream(s.bus, "seedReport", r, { params: { run: s.run } });
  }
}

const metricOf = (s: ActorStage, packetPrefix: string, name: string) =>
  s.packets
    .filter((p) => p.packetId.startsWith(packetPrefix))
    .flatMap((p) => p.metrics.filter((m) => m.name === name))
    .at(-1);

describe("kasmina gates with a real urza (real nats-server, onnxruntime)", () => {
  it("germinate → G0 on Urza's kernel → graft → reports through G1–G4 → FOSSILIZED, with per-seed telemetry", async () => {
    const st = await stack();
    const { s } = st;
    try {
      const k = startKasmina(st);
      await until(() => k.lifecycle.state === "running", "kasmina running");
      await germinate(s, "cmd-1");
      await until(async () => (await directives(s)).length === 1, "the graft");
      expect((await directives(s))[0]).toMatchObject({
        action: "graft",
        stage: S.TRAINING,
        kernel: {
          blueprintId: KERNEL.blueprintId,
          artifactRef: KERNEL.artifactSha256,
          checksum: KERNEL.artifactSha256,
        },
      });
      await sendReports(s, S.TRAINING, GATES.trainingReports);
      await until(async () => (await directives(s)).length === 2, "TRAINING → BLENDING (G2)");
      await sendReports(s, S.BLENDING, 2); // 20 of 20 blending steps
      await until(async () => (await directives(s)).length === 3, "BLENDING → SHADOWING (G3)");
      await sendReports(s, S.SHADOWING, GATES.shadowingReports);
      await until(async () => (await directives(s)).length === 4, "SHADOWING → PROBATIONARY (G4)");
      await sendReports(s, S.PROBATIONARY, GATES.probationReports);
      await until(async () => (await directives(s)).length === 5, "PROBATIONARY → FOSSILIZED (G4)");
      expect((await directives(s)).map((d) => d.stage)).toEqual([
        S.TRAINING,
        S.BLENDING,
        S.SHADOWING,
        S.PROBATIONARY,
        S.FOSSILIZED,
      ]);
      await until(() => s.events("kasmina.seed.transition").length === 6, "six transitions");
      expect(s.events("kasmina.seed.transition").map((e) => e.attributes?.reason?.slice(0, 2))).toEqual([
        "co",
        "G0",
        "G2",
        "G3",
        "G4",
        "G4",
      ]);
      expect(s.events("kasmina.seed.gate_failure")).toEqual([]);
      await until(
        () => metricOf(s, `kasmina-seed-${SEED}-`, "kasmina.seed.stage")?.value === S.FOSSILIZED,
        "a per-seed packet showing FOSSILIZED",
      );
      expect(metricOf(s, `kasmina-seed-${SEED}-`, "kasmina.blend.alpha_mean")).toMatchObject({
        value: 1,
        attributes: { mode: "convex", seed_id: SEED, trainingRunId: s.run },
      });
      await until(
        () => metricOf(s, "kasmina-global-", "kasmina.seeds.fossilized")?.value === 1,
        "the global packet",
      );
      k.drain("test done");
      expect(await k.done).toBe(ActorExitCode.ok);
    } finally {
      await st.close();
    }
  }, 90_000);

  it("a kernel whose bytes do not hash to the catalog's checksum fails G0: CRITICAL, culled, no directive", async () => {
    const st = await stack();
    const { s } = st;
    try {
      const kernels = await new Objm(s.bus.nc).open(storeName(s.ns, "kernels"));
      await kernels.putBlob({ name: KERNEL.artifactSha256 }, new Uint8Array([1, 2, 3, 4]));
      const k = startKasmina(st);
      await until(() => k.lifecycle.state === "running", "kasmina running");
      await germinate(s, "cmd-1");
      await until(() => s.events("kasmina.seed.gate_failure").length === 1, "the G0 failure");
      const [failure] = s.events("kasmina.seed.gate_failure");
      expect(failure).toMatchObject({
        level: TelemetryLevel.CRITICAL,
        attributes: { gate: "G0", gateName: "sanity", seedId: SEED, blueprintId: KERNEL.blueprintId },
      });
      expect(failure?.attributes?.reason).toContain("digest_mismatch");
      await until(() => s.events("kasmina.seed.culled").length === 1, "the cull");
      expect(await directives(s)).toEqual([]);
    } finally {
      await st.close();
    }
  }, 90_000);

  it("with Urza stopped the prefetch fails: G0 fails with CRITICAL telemetry and no directive", async () => {
    const st = await stack();
    const { s } = st;
    try {
      st.urza.drain("urza stopped for the test");
      expect(await st.urza.done).toBe(ActorExitCode.ok);
      const k = startKasmina(st);
      await until(() => k.lifecycle.state === "running", "kasmina running");
      await germinate(s, "cmd-1");
      await until(() => s.events("kasmina.seed.gate_failure").length === 1, "the G0 failure");
      expect(s.events("kasmina.seed.gate_failure")[0]).toMatchObject({
        level: TelemetryLevel.CRITICAL,
        attributes: { gate: "G0", seedId: SEED },
      });
      expect(s.events("kasmina.seed.gate_failure")[0]?.attributes?.reason).toMatch(
        /^kernel prefetch timed out/,
      );
      expect(s.events("kasmina.prefetch.failed")).toHaveLength(1);
      expect(await directives(s)).toEqual([]);
      await until(
        () => metricOf(s, "kasmina-global-", "kasmina.seeds.embargoed")?.value === 1,
        "the global packet",
      );
      expect(
        s.packets
          .filter((p) => p.packetId.startsWith("kasmina-global-"))
          .flatMap((p) => p.metrics)
          .filter((m) => m.name === "kasmina.gates.failures" && m.attributes?.gate === "G0")
          .at(-1)?.value,
      ).toBe(1);
    } finally {
      await st.close();
    }
  }, 90_000);
});
