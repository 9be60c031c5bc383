import { describe, expect, it } from "vitest";
import {
  type AdaptationCommand,
  decode,
  encode,
  type TamiyoDecision,
  type TelemetryPacket,
} from "../../contracts/index.ts";
import { sampleOf } from "../../contracts/testing/samples.ts";
import { TelemetryEmitter } from "../runtime/telemetry.ts";
import { DecisionTelemetry } from "./decision-telemetry.ts";

const risk = { score: 0, vetoes: [], downgrades: [], annotations: [], conservative: false };
const base = {
  packetId: "pkt-5",
  decisionId: "d-1",
  trainingRunId: "run-a",
  policyVersion: "tamiyo-rules-v1",
  latencyMs: 1,
  latencies: { policyMs: 0.5, riskMs: 0.1, commandMs: 0 },
  risk,
};
const noPlateau: TamiyoDecision = { ...base, outcome: "noAction", reason: "no_plateau: 1 of 3 epochs" };
const vetoed: TamiyoDecision = {
  ...base,
  outcome: "noAction",
  reason: "risk_veto: germinate bp on seed-a vetoed by ...",
  risk: {
    ...risk,
    score: 1,
    conservative: true,
    vetoes: [
      { evaluator: "loss-spike", reason: "loss_spike", detail: "validation loss rose 0.2" },
      { evaluator: "seed-health", reason: "seed_not_dormant", detail: "seed seed-a is TRAINING" },
    ],
    downgrades: [{ evaluator: "loss-spike", reason: "loss_volatility_high", detail: "volatile" }],
  },
};

async function recorded(decisions: Parameters<DecisionTelemetry["record"]>[0][]) {
  const packets: TelemetryPacket[] = [];
  const emitter = new TelemetryEmitter({
    actor: "tamiyo",
    publish: async (p) => {
      packets.push(decode("TelemetryPacket", encode("TelemetryPacket", p)));
    },
  });
  const telemetry = new DecisionTelemetry(emitter);
  for (const d of decisions) telemetry.record(d);
  await emitter.flush();
  const metrics = packets.flatMap((p) => p.metrics);
  const events = packets.flatMap((p) => p.events);
  return {
    metric: (name: string) =>
      metrics.filter((m) => m.name === name).map((m) => [m.value, m.attributes ?? {}] as const),
    events,
  };
}

describe("decision telemetry", () => {
  it("counts decisions per kind: the policy action of a command, the reason code of a no-op", async () => {
    const command: AdaptationCommand = {
      ...sampleOf("AdaptationCommand", 3),
      decision: {
        policy: { version: "tamiyo-rules-v1", digest: "ab".repeat(32), action: "germinate", latencyMs: 0 },
        risk: { reason: "passed", score: 0 },
        coverage: { featureCoverage: 1, byType: {} },
      },
    };
    const germinate: TamiyoDecision = { ...base, outcome: "command", command };
    const t = await recorded([
      { reply: noPlateau, conservative: undefined },
      { reply: noPlateau, conservative: undefined },
      { reply: germinate, conservative: undefined },
    ]);
    expect(t.metric("tamiyo.decision.total")).toEqual([
      [1, { kind: "no_plateau" }],
      [2, { kind: "no_plateau" }],
      [1, { kind: "germinate" }],
    ]);
  });

  it("reports each veto as tamiyo.risk.veto with its reason and counts vetoes and downgrades per reason", async () => {
    const t = await recorded([
      { reply: vetoed, conservative: "entered" },
      { reply: vetoed, conservative: undefined },
    ]);
    const vetoEvents = t.events.filter((e) => e.eventId === "tamiyo.risk.veto");
    expect(vetoEvents.map((e) => e.attributes?.reason)).toEqual([
      "loss_spike",
      "seed_not_dormant",
      "loss_spike",
      "seed_not_dormant",
    ]);
    expect(vetoEvents[0]).toMatchObject({
      description: "validation loss rose 0.2",
      attributes: {
        evaluator: "loss-spike",
        reason: "loss_spike",
        packetId: "pkt-5",
        trainingRunId: "run-a",
      },
    });
    expect(t.metric("tamiyo.risk.vetoes_total")).toEqual([
      [1, { reason: "loss_spike" }],
      [1, { reason: "seed_not_dormant" }],
      [2, { reason: "loss_spike" }],
      [2, { reason: "seed_not_dormant" }],
    ]);
    expect(t.metric("tamiyo.risk.downgrades_total")).toEqual([
      [1, { reason: "loss_volatility_high" }],
      [2, { reason: "loss_volatility_high" }],
    ]);
    expect(t.metric("tamiyo.decision.total")).toEqual([
      [1, { kind: "risk_veto" }],
      [2, { kind: "risk_veto" }],
    ]);
  });

  it("sets the conservative-mode gauge per decision and reports entering and leaving it", async () => {
    const calm = { ...noPlateau, risk: { ...risk, conservative: false } };
    const t = await recorded([
      { reply: vetoed, conservative: "entered" },
      { reply: calm, conservative: "exited" },
    ]);
    expect(t.metric("tamiyo.risk.conservative_mode")).toEqual([
      [1, { trainingRunId: "run-a" }],
      [0, { trainingRunId: "run-a" }],
    ]);
    expect(
      t.events
        .filter((e) => e.eventId.startsWith("tamiyo.risk.conservative"))
        .map((e) => e.eventId)
        .sort(),
    ).toEqual(["tamiyo.risk.conservative_entered", "tamiyo.risk.conservative_exited"]);
  });
});
