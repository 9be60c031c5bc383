import { describe, expect, it } from "vitest";
import {
  BlendMode,
  BlendSchedule,
  checkSignature,
  type SeedState,
  type SystemStatePacket,
  type TamiyoDecision,
} from "../../contracts/index.ts";
import { createCommandBuilder } from "./command-builder.ts";
import { createEvaluator } from "./evaluation.ts";
import type { Policy, PolicyAction } from "./policy.ts";
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

async function replay(packets: readonly SystemStatePacket[], rogue?: PolicyAction) {
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
  const evaluator = createEvaluator({ policy: decider, commands, now, newId });
  let memory: RunMemory = emptyRunMemory("run-a");
  const replies: TamiyoDecision[] = [];
  for (const p of packets) {
    const e = await evaluator.evaluate({ packet: p, catalog, approved: none, memory });
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

  it("gives the same replies for the same packets (replay)", async () => {
    expect(await replay(run)).toEqual(await replay(run));
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
