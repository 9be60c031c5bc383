import { describe, expect, it } from "vitest";
import { BlendMode, BlendSchedule, decode, encode } from "../../contracts/index.ts";
import { createCommandBuilder } from "./command-builder.ts";
import { commandReply, noActionReply, vetoedReply } from "./decision-reply.ts";
import { checkGerminationTargets } from "./id-checks.ts";
import { DORMANT, descriptor, packet, seedState } from "./testing/fixtures.ts";

const policy = { version: "tamiyo-rules-v1", digest: "cd".repeat(32) };
const pkt = packet(9, 0.5, [seedState("seed-a", DORMANT)]);
const risk = { score: 0.1, vetoes: [], downgrades: [], annotations: [], conservative: false };
const latencies = { policyMs: 0.5, riskMs: 0.1, commandMs: 0 };
const ctx = { packet: pkt, decisionId: "decision-1", policy, latencyMs: 0.8, latencies, risk };

describe("decision replies", () => {
  it("an explicit no-op names its reason and detail", () => {
    const reply = noActionReply(ctx, {
      kind: "noop",
      reason: "no_free_slot",
      detail: "none of 1 seed(s) is DORMANT",
    });
    expect(reply).toEqual({
      packetId: pkt.packetId,
      decisionId: "decision-1",
      trainingRunId: "run-a",
      policyVersion: "tamiyo-rules-v1",
      latencyMs: 0.8,
      latencies,
      risk,
      outcome: "noAction",
      reason: "no_free_slot: none of 1 seed(s) is DORMANT",
    });
    expect(decode("TamiyoDecision", encode("TamiyoDecision", reply))).toEqual(reply);
  });

  it("a command reply carries the signed command and passes the contract", () => {
    const bp = descriptor("low-rank-linear", 8, 2);
    const action = {
      kind: "germinate",
      seedId: "seed-a",
      slotId: "slot-seed-a",
      slotWidth: 8,
      blueprintId: bp.blueprintId,
      blend: {
        mode: BlendMode.RESIDUAL,
        schedule: { shape: BlendSchedule.LINEAR, steps: 5, start: 0, end: 1 },
      },
      rationale: "test",
    } as const;
    const builder = createCommandBuilder({
      signingKey: "k",
      freshnessWindowMs: 1000,
      executionDeadlineMs: 100,
      policy,
      now: () => 1_800_000_000_000,
      newId: (() => {
        let n = 0;
        return () => `id-${++n}`;
      })(),
    });
    const command = builder.germinate(checkGerminationTargets(action, pkt, [bp]), pkt, {
      policyLatencyMs: 0.5,
      risk: { reason: "passed", score: 0.05 },
    });
    const reply = commandReply(ctx, command);
    expect(reply).toMatchObject({
      packetId: pkt.packetId,
      trainingRunId: "run-a",
      outcome: "command",
      command,
    });
    expect(decode("TamiyoDecision", encode("TamiyoDecision", reply))).toEqual(reply);
  });

  it("a vetoed germination is a no-op naming every veto, and needs at least one", () => {
    const action = {
      kind: "germinate",
      seedId: "seed-a",
      slotId: "slot-seed-a",
      slotWidth: 8,
      blueprintId: "bp-x",
      blend: {
        mode: BlendMode.RESIDUAL,
        schedule: { shape: BlendSchedule.LINEAR, steps: 5, start: 0, end: 1 },
      },
      rationale: "test",
    } as const;
    const vetoes = [
      { evaluator: "loss-spike", reason: "loss_spike", detail: "validation loss rose 0.2" },
      { evaluator: "conservative-mode", reason: "conservative_mode", detail: "only safe actions pass" },
    ];
    const reply = vetoedReply({ ...ctx, risk: { ...risk, score: 1, vetoes, conservative: true } }, action);
    expect(reply).toMatchObject({
      outcome: "noAction",
      reason:
        "risk_veto: germinate bp-x on seed-a vetoed by loss-spike (loss_spike: validation loss rose 0.2); conservative-mode (conservative_mode: only safe actions pass)",
      risk: { vetoes, conservative: true, score: 1 },
    });
    expect(decode("TamiyoDecision", encode("TamiyoDecision", reply))).toEqual(reply);
    expect(() => vetoedReply(ctx, action)).toThrow(/needs at least one veto/);
  });
});
