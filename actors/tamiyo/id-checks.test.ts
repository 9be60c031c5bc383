import { describe, expect, it } from "vitest";
import { BlendMode, BlendSchedule } from "../../contracts/index.ts";
import { AmbiguousTargetError, TargetMismatchError, UnknownTargetError } from "./errors.ts";
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

  it("rejects a slot id absent from the packet, naming it", () => {
    const act = () => checkGerminationTargets({ ...action, slotId: "slot-9" }, pkt, [bp]);
    expect(act).toThrow(UnknownTargetError);
    expect(act).toThrow(/slot id 'slot-9' is not in packet pkt-3/);
  });

  it("rejects a slot that holds another seed than the target", () => {
    const act = () => checkGerminationTargets({ ...action, slotId: "slot-seed-a" }, pkt, [bp]);
    expect(act).toThrow(TargetMismatchError);
    expect(act).toThrow(/slotId 'slot-seed-a' holds seed 'seed-a', not the target seed 'seed-b'/);
  });

  it("rejects a slot width other than the packet's", () => {
    const act = () => checkGerminationTargets({ ...action, slotWidth: 4 }, pkt, [bp]);
    expect(act).toThrow(/slotWidth 4 differs from the width 8 packet pkt-3/);
  });

  it("rejects a catalog blueprint whose kernel does not fit the slot's width", () => {
    const narrow = descriptor("low-rank-linear", 4, 2);
    const act = () => checkGerminationTargets({ ...action, blueprintId: narrow.blueprintId }, pkt, [narrow]);
    expect(act).toThrow(TargetMismatchError);
    expect(act).toThrow(/maps width 4 → 4, but slot 'slot-seed-b' is 8 wide/);
  });
});
