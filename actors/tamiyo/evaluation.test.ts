import { describe, expect, it } from "vitest";
import {
  BlendMode,
  BlendSchedule,
  type BlueprintDescriptor,
  checkSignature,
  encode,
  type SeedState,
  type SystemStatePacket,
  type TamiyoDecision,
} from "../../contracts/index.ts";
import { createCommandBuilder } from "./command-builder.ts";
import { createEvaluator } from "./evaluation.ts";
import type { Policy, PolicyAction } from "./policy.ts";
import { createRiskEngine } from "./risk/risk-engine.ts";
import { createRulePolicy } from "./rule-policy.ts";
import { emptyRunMemory, type RunMemory } from "./run-memory.ts";
import { DORMANT, descriptor, FOSSILIZED, packet, seedState, TRAINING } from "./testing/fixtures.ts";

const KEY = "evaluation-test-key";
const none: ReadonlySet<string> = new Set();
const catalog = [descriptor("low-rank-linear", 8, 2), descriptor("residual-mlp", 4, 8)];

/** A run: loss improves then plateaus, seed-a germinates and trains through a fresh plateau, fossilizes, seed-b germinates. */
const run: SystemStatePacket[] = (
  [
    [1.0, [DORMANT, DORMANT]],
    [0.8, [DORMANT, DORMANT]],
    [0.799, [DORMANT, DORMANT]],
    [0.798, [DORMANT, DORMANT]],
    [0.797, [TRAINING, DORMANT]],
    [0.796, [TRAINING, DORMANT]],
    [0.795, [FOSSILIZED, DORMANT]],
  ] as const
).map(([loss, [a, b]], epoch) => {
  const seeds: SeedState[] = [seedState("seed-a", a, 0, 8), seedState("seed-b", b, 1, 4)];
  return packet(epoch, loss, seeds);
});

async function replay(
  packets: readonly SystemStatePacket[],
  rogue?: PolicyAction,
  evalCatalog: readonly BlueprintDescriptor[] = catalog,
) {
  let ids = 0;
  let clock = 1_800_000_000_000;
  const now = () => clock++;
  const newId = () => `id-${++ids}`;
  const policy = createRulePolicy({
    plateau: { epochs: 2, minRelativeImprovement: 0.01 },
    blend: {
      mode: BlendMode.RESIDUAL,
      schedule: { shape: BlendSchedule.LINEAR, steps: 20, start: 0, end: 1 },
    },
  });
  const commands = createCommandBuilder({
    signingKey: KEY,
    freshnessWindowMs: 60_000,
    executionDeadlineMs: 1_000,
    policy: policy.identity,
    now,
    newId,
  });
  const decider: Policy = rogue ? { identity: policy.identity, decide: () => rogue } : policy;
  const risk = createRiskEngine({ inferenceBudgetMs: 12 });
  const evaluator = createEvaluator({ policy: decider, risk, commands, now, newId });
  let memory: RunMemory = emptyRunMemory("run-a");
  const replies: TamiyoDecision[] = [];
  for (const p of packets) {
    const e = await evaluator.evaluate({ packet: p, catalog: evalCatalog, approved: none, memory });
    memory = e.memory;
    if (e.command) expect(e.reply).toMatchObject({ outcome: "command", command: e.command });
    replies.push(e.reply);
  }
  return replies;
}

const summary = (r: TamiyoDecision) =>
  r.outcome === "command" && r.command.payload.kind === "seed"
    ? `germinate ${r.command.targetSeedId} with ${r.command.payload.blueprintId}`
    : r.outcome === "noAction"
      ? r.reason.split(":")[0]
      : "other command";

describe("evaluation pipeline", () => {
  it("decides a run step by step: plateau → germinate, fresh plateau while in flight → no-op, then the next slot", async () => {
    expect((await replay(run)).map(summary)).toEqual([
      "no_plateau",
      "no_plateau",
      "no_plateau",
      `germinate seed-a with ${catalog[0]?.blueprintId}`,
      "no_plateau",
      "seed_in_flight",
      `germinate seed-b with ${catalog[1]?.blueprintId}`,
    ]);
  });

  it("signs every command it replies with", async () => {
    const commands = (await replay(run)).flatMap((r) => (r.outcome === "command" ? [r.command] : []));
    expect(commands).toHaveLength(2);
    for (const c of commands) expect(checkSignature("AdaptationCommand", c, KEY)).toBe("ok");
  });

  it("gives byte-identical replies for the same packets, policy, clock and ids (replay)", async () => {
    const bytes = (rs: TamiyoDecision[]) =>
      rs.map((r) => Buffer.from(encode("TamiyoDecision", r)).toString("hex"));
    expect(bytes(await replay(run))).toEqual(bytes(await replay(run)));
  });

  it("reports the latency of each phase from the injected clock and the risk block in every reply", async () => {
    const replies = await replay(run);
    // The clock advances 1 ms per reading: policy 1, risk 1; the command phase 2 (the builder reads the
    // same clock for issuedAt); a no-op builds nothing.
    expect(replies[0]?.latencies).toEqual({ policyMs: 1, riskMs: 1, commandMs: 0 });
    expect(replies[3]?.latencies).toEqual({ policyMs: 1, riskMs: 1, commandMs: 2 });
    expect(replies[3]?.risk).toMatchObject({ vetoes: [], downgrades: [], conservative: false });
  });

  it("answers a germination the risk engine vetoes with a no-op naming the veto, and remembers no germination", async () => {
    const quarantined = catalog.map((b, i) => (i === 0 ? { ...b, quarantineOnly: true } : b));
    const bp = catalog[0]?.blueprintId ?? "";
    const action = {
      kind: "germinate",
      seedId: "seed-a",
      slotId: "slot-seed-a",
      slotWidth: 8,
      blueprintId: bp,
      blend: {
        mode: BlendMode.RESIDUAL,
        schedule: { shape: BlendSchedule.LINEAR, steps: 1, start: 0, end: 1 },
      },
      rationale: "rogue",
    } as const;
    const [first, second] = await replay(run.slice(0, 2), action, quarantined);
    expect(first).toMatchObject({
      outcome: "noAction",
      risk: {
        score: 1,
        conservative: true,
        vetoes: [{ evaluator: "blueprint-risk", reason: "bp_quarantine" }],
      },
    });
    expect(first?.outcome === "noAction" && first.reason).toMatch(
      /^risk_veto: germinate .* on seed-a vetoed by blueprint-risk \(bp_quarantine/,
    );
    // Still vetoed at the next packet (conservative mode), so no germination was remembered in between.
    expect(second?.risk.vetoes.map((v) => v.reason)).toEqual(["bp_quarantine", "conservative_mode"]);
  });

  it("runs the id checks on the policy's action: a placeholder target is an error, never a command", async () => {
    const blend = {
      mode: BlendMode.RESIDUAL,
      schedule: { shape: BlendSchedule.LINEAR, steps: 1, start: 0, end: 1 },
    };
    const action = {
      kind: "germinate",
      slotId: "slot-seed-a",
      slotWidth: 8,
      blend,
      rationale: "rogue",
    } as const;
    const first = run.slice(0, 1);
    const bp = catalog[0]?.blueprintId ?? "";
    await expect(replay(first, { ...action, seedId: "seed-1", blueprintId: bp })).rejects.toThrow(
      /seed id 'seed-1'/,
    );
    await expect(replay(first, { ...action, seedId: "seed-a", blueprintId: "bp-demo" })).rejects.toThrow(
      /'bp-demo'/,
    );
  });
});
