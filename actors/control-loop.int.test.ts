import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { listenTyped } from "../bus/typed.ts";
import type { AdaptationCommand } from "../contracts/messages/command.ts";
import type { SeedDirective } from "../contracts/messages/seed.ts";
import type { SystemStatePacket } from "../contracts/messages/state.ts";
import type { TelemetryEvent } from "../contracts/messages/telemetry.ts";
import { subjectFor } from "../contracts/subjects.ts";
import { spiralsGrowthPreset } from "../nn/presets/spirals-growth.ts";
import { actorStage } from "../test/actor-stage.ts";
import { useNatsServer } from "../test/bus-fixture.ts";
import { createKasminaActor } from "./kasmina/main.ts";
import { type ActorHandle, startActor } from "./runtime/actor.ts";
import type { ActorDefinition } from "./runtime/actor-types.ts";
import { ActorExitCode } from "./runtime/exit-codes.ts";
import { bootstrapSettings } from "./runtime/settings-bootstrap.ts";
import { createTamiyoActor } from "./tamiyo/main.ts";
import { createTolariaActor } from "./tolaria/main.ts";
import { actor as urza } from "./urza/main.ts";

const fixture = useNatsServer();
const KEY = "control-loop-test-signing-key";

const GROWTH = ["GERMINATED", "TRAINING", "BLENDING", "SHADOWING", "PROBATIONARY", "FOSSILIZED"];

async function untilRunning(name: string, h: ActorHandle): Promise<void> {
  const end = Date.now() + 60_000;
  while (h.lifecycle.state !== "running") {
    if (h.lifecycle.terminal)
      throw new Error(`${name} ended before it ran: ${h.lifecycle.failureReason ?? h.lifecycle.state}`);
    if (Date.now() > end) throw new Error(`${name} not running after 60 s (${h.lifecycle.state})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("the control loop: urza, kasmina, tamiyo and tolaria in this process on one real nats-server", () => {
  it("grows a seed on the default job: GERMINATED → … → FOSSILIZED, accuracy above the germination epoch's, every command applied or rejected with a reason, no decision timeout", async () => {
    const started = performance.now();
    const s = await actorStage(fixture, "loop", { signingKey: KEY });
    await bootstrapSettings(s.bus, {});
    const events: TelemetryEvent[] = [];
    const commands: AdaptationCommand[] = [];
    const directives: SeedDirective[] = [];
    const packets: SystemStatePacket[] = [];
    const run = s.run;
    const subs = [
      listenTyped(
        s.bus,
        `${s.ns}.telemetry.raw.*`,
        "TelemetryPacket",
        (p) => void events.push(...p.events),
        {},
      ),
      listenTyped(
        s.bus,
        subjectFor(s.ns, "command", { run, target: "kasmina" }),
        "AdaptationCommand",
        (c) => void commands.push(c),
        {},
      ),
      listenTyped(
        s.bus,
        subjectFor(s.ns, "seedDirective", { run }),
        "SeedDirective",
        (d) => void directives.push(d),
        {},
      ),
      listenTyped(
        s.bus,
        subjectFor(s.ns, "statePacket", { run }),
        "SystemStatePacket",
        (p) => void packets.push(p),
        {},
      ),
    ];
    await s.bus.nc.flush();
    const { ESPER_JOB: _unset, ...env } = s.env;
    const walDir = await mkdtemp(join(tmpdir(), "control-loop-tamiyo-"));
    const checkpointDir = await mkdtemp(join(tmpdir(), "control-loop-tolaria-"));
    const envOf = (name: string) => ({ ...env, ESPER_INSTANCE_ID: `${name}-1` });
    const order: [string, ActorDefinition][] = [
      ["urza", urza],
      ["kasmina", createKasminaActor({ env: envOf("kasmina") })],
      ["tamiyo", createTamiyoActor({ env: { ESPER_TAMIYO_WAL_DIR: walDir } })],
      [
        "tolaria",
        createTolariaActor({ env: { ...envOf("tolaria"), ESPER_TOLARIA_CHECKPOINT_DIR: checkpointDir } }),
      ],
    ];
    const handles: [string, ActorHandle][] = [];
    const codes: [string, ActorExitCode][] = [];
    try {
      for (const [name, def] of order) {
        const h = startActor(def, { env: envOf(name), handleSignals: false });
        handles.push([name, h]);
        await untilRunning(name, h);
      }
    } finally {
      // Tolaria ends the run; then the others drain in reverse start order.
      for (const [name, h] of [...handles].reverse()) {
        if (name !== "tolaria") h.drain("the run is over");
        codes.push([name, await h.done]);
      }
      for (const sub of subs) await sub.stop();
      await s.close();
      await rm(walDir, { recursive: true, force: true });
      await rm(checkpointDir, { recursive: true, force: true });
    }
    const wallMs = performance.now() - started;
    expect(codes).toEqual([...handles].reverse().map(([name]) => [name, ActorExitCode.ok]));

    const named = (id: string) => events.filter((e) => e.eventId === id);
    const transitions = named("kasmina.seed.transition").map((e) => e.attributes ?? {});
    const timeline = transitions.map((t) => `${t.seedId} ${t.from} → ${t.to}: ${t.reason}`);
    const accuracy = packets.map((p) => Number(p.validationAccuracy.toFixed(3)));
    console.log(JSON.stringify({ wallMs: Math.round(wallMs), accuracy, timeline }, null, 1));

    // Every epoch's packet arrived, each with the model's parameter count.
    expect(packets.map((p) => p.currentEpoch)).toEqual([...Array(spiralsGrowthPreset.epochs).keys()]);
    for (const p of packets) expect(p.trainingMetrics.extra.parameterCount).toBeGreaterThan(0);
    // One seed went the whole growth path, in order.
    const grown = transitions.filter((t) => t.to === "FOSSILIZED").map((t) => t.seedId);
    expect(grown).toHaveLength(1);
    const seedId = grown[0] as string;
    expect(transitions.filter((t) => t.seedId === seedId).map((t) => t.to)).toEqual(GROWTH);
    // Tamiyo germinated once: the slot was never free again (in flight, then FOSSILIZED).
    expect(commands.map((c) => c.targetSeedId)).toEqual([seedId]);
    // The final validation accuracy is above the accuracy of the epoch whose packet led to the germination.
    const germination = commands.find((c) => c.targetSeedId === seedId);
    if (germination === undefined) throw new Error(`no command germinated ${seedId}`);
    const atGermination = packets.findLast((p) => p.timestampMs <= germination.security.issuedAt);
    if (atGermination === undefined) throw new Error(`no packet before command ${germination.commandId}`);
    expect(packets.at(-1)?.validationAccuracy).toBeGreaterThan(atGermination.validationAccuracy);
    // Every command was applied (a directive carries its id) or rejected with a reason.
    const rejections = new Map(
      named("kasmina.command.rejected").map((e) => [e.attributes?.commandId, e.attributes?.reason]),
    );
    const unaccounted = commands.filter(
      (c) => !directives.some((d) => d.commandId === c.commandId) && !rejections.get(c.commandId),
    );
    expect(unaccounted.map((c) => c.commandId)).toEqual([]);
    // No decision timed out.
    expect(named("tolaria.decision.timeout")).toEqual([]);
  }, 120_000);
});
