import { describe, expect, it } from "vitest";
import { BlendMode, BlendSchedule } from "../../contracts/index.ts";
import { AmbiguousTargetError, UnknownTargetError } from "./errors.ts";
import { checkGerminationTargets } from "./id-checks.ts";
import type { GerminateAction } from "./policy.ts";
import { DORMANT, descriptor, packet, seedState } from "./testing/fixtures.ts";

const bp = descriptor("low-rank-linear", 8, 2);
const pkt = packet(3, 1, [seedState("seed-a", DORMANT), seedState("seed-b", DORMANT)]);
const action: GerminateAction = {
  kind: "germinate",
  seedId: "seed-b",
  slotId: "slot-seed-b",
  slotWidth: 8,
  blueprintId: bp.blueprintId,
  blend: { mode: BlendMode.RESIDUAL, schedule: { shape: BlendSchedule.LINEAR, steps: 10, start: 0, end: 1 } },
  rationale: "test",
};

describe("germination id checks", () => {
  it("returns the seed state and the descriptor the action names", () => {
    const checked = checkGerminationTargets(action, pkt, [descriptor("residual-mlp", 8, 4), bp]);
    expect(checked.seed.seedId).toBe("seed-b");
    expect(checked.blueprint).toBe(bp);
    expect(checked.action).toBe(action);
  });

  it("rejects a seed id absent from the packet, naming it (no placeholder like seed-1)", () => {
    const act = () => checkGerminationTargets({ ...action, seedId: "seed-1" }, pkt, [bp]);
    expect(act).toThrow(UnknownTargetError);
    expect(act).toThrow(/seed id 'seed-1' is not in packet pkt-3/);
  });

  it("rejects a blueprint id absent from the catalog, naming it (no placeholder like bp-demo)", () => {
    const act = () => checkGerminationTargets({ ...action, blueprintId: "bp-demo" }, pkt, [bp]);
    expect(act).toThrow(/blueprint id 'bp-demo' is not in the blueprint catalog/);
  });

  it("rejects an id that appears twice as ambiguous", () => {
    expect(() => checkGerminationTargets(action, pkt, [bp, bp])).toThrow(AmbiguousTargetError);
    const twice = packet(3, 1, [seedState("seed-b", DORMANT), seedState("seed-b", DORMANT)]);
    expect(() => checkGerminationTargets(action, twice, [bp])).toThrow(/seed id 'seed-b' appears 2 times/);
  });
});
