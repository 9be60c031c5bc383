import { describe, expect, it } from "vitest";
import { BlendMode, BlendSchedule, type BlueprintDescriptor, type SeedState } from "../../contracts/index.ts";
import type { PolicyAction } from "./policy.ts";
import { createRulePolicy } from "./rule-policy.ts";
import type { RuleSet } from "./rule-set.ts";
import { emptyRunMemory, observePacket, type RunMemory } from "./run-memory.ts";
import { CULLED, DORMANT, descriptor, FOSSILIZED, packet, seedState, TRAINING } from "./testing/fixtures.ts";

const rules: RuleSet = {
  plateau: { epochs: 2, minRelativeImprovement: 0.01 },
  blend: { mode: BlendMode.CONVEX, schedule: { shape: BlendSchedule.COSINE, steps: 50, start: 0, end: 1 } },
};
const policy = createRulePolicy(rules);

const wide8 = descriptor("residual-mlp", 8, 16);
const low8 = descriptor("low-rank-linear", 8, 2);
const mlp4 = descriptor("residual-mlp", 4, 8);
const catalog: BlueprintDescriptor[] = [wide8, low8, mlp4];
/** Memory after epochs 0..n−1 of `losses`, deciding on the last packet with `seeds`. */
function decideAfter(
  losses: readonly number[],
  seeds: SeedState[],
  cat = catalog,
  approved: ReadonlySet<string> = new Set(),
): PolicyAction {
  let memory: RunMemory = emptyRunMemory("run-a");
  let last = packet(0, 0, seeds);
  losses.forEach((loss, epoch) => {
    last = packet(epoch, loss, seeds);
    memory = observePacket(memory, last);
  });
  return policy.decide({ packet: last, catalog: cat, approved, memory });
}

const flat = [1.0, 0.999, 0.998];

describe("rule policy", () => {
  it("germinates the lowest-risk fitting blueprint on the first free slot after a plateau", () => {
    const action = decideAfter(flat, [seedState("seed-a", DORMANT, 1), seedState("seed-b", DORMANT, 0, 4)]);
    expect(action).toMatchObject({
      kind: "germinate",
      seedId: "seed-b",
      slotId: "slot-seed-b",
      slotWidth: 4,
      blueprintId: mlp4.blueprintId,
      blend: rules.blend,
    });
  });

  it("picks among fitting blueprints by risk, then id, whatever the catalog order", () => {
    const seeds = [seedState("seed-a", DORMANT)];
    for (const cat of [catalog, [...catalog].reverse()]) {
      expect(decideAfter(flat, seeds, cat)).toMatchObject({
        seedId: "seed-a",
        blueprintId: low8.blueprintId,
      });
    }
    const risky = { ...wide8, blueprintId: "a-risky", risk: 0.9 };
    expect(decideAfter(flat, seeds, [risky, low8])).toMatchObject({ blueprintId: low8.blueprintId });
    const twin = { ...low8, blueprintId: "a-twin" };
    expect(decideAfter(flat, seeds, [low8, twin])).toMatchObject({ blueprintId: "a-twin" });
  });

  it("orders free slots by layer depth, then seed id, whatever the packet order", () => {
    const seeds = [seedState("seed-c", DORMANT, 2), seedState("seed-a", DORMANT, 2)];
    expect(decideAfter(flat, seeds)).toMatchObject({ seedId: "seed-a" });
    expect(decideAfter(flat, [...seeds].reverse())).toMatchObject({ seedId: "seed-a" });
  });

  it("no-ops with no_plateau while the loss still improves", () => {
    const action = decideAfter([1.0, 0.9, 0.8], [seedState("seed-a", DORMANT)]);
    expect(action).toEqual({
      kind: "noop",
      reason: "no_plateau",
      detail: "0 of 2 epochs without relative improvement > 0.01",
    });
  });

  it("no-ops with seed_in_flight while a seed is in its lifecycle", () => {
    const action = decideAfter(flat, [seedState("seed-a", DORMANT), seedState("seed-c", TRAINING)]);
    expect(action).toMatchObject({ kind: "noop", reason: "seed_in_flight" });
    expect(action.kind === "noop" && action.detail).toContain("seed-c");
  });

  it("no-ops with no_free_slot when no seed is DORMANT", () => {
    const action = decideAfter(flat, [seedState("seed-a", FOSSILIZED), seedState("seed-c", CULLED)]);
    expect(action).toMatchObject({ kind: "noop", reason: "no_free_slot" });
  });

  it("no-ops with no_fitting_blueprint when no usable blueprint has the slot's width", () => {
    const seeds = [seedState("seed-a", DORMANT, 0, 8)];
    expect(decideAfter(flat, seeds, [mlp4])).toMatchObject({ kind: "noop", reason: "no_fitting_blueprint" });
    const narrow = decideAfter(flat, [seedState("seed-a", DORMANT, 0, 4)], [wide8, low8]);
    expect(narrow).toMatchObject({ kind: "noop", reason: "no_fitting_blueprint" });
    expect(narrow.kind === "noop" && narrow.detail).toContain("width 4");
    const guarded = [
      { ...low8, quarantineOnly: true },
      { ...wide8, approvalRequired: true },
    ];
    const action = decideAfter(flat, seeds, guarded);
    expect(action).toMatchObject({ kind: "noop", reason: "no_fitting_blueprint" });
    expect(action.kind === "noop" && action.detail).toContain("width 8");
  });

  it("germinates an approval-gated blueprint only when the run's job approves it", () => {
    const seeds = [seedState("seed-a", DORMANT, 0, 8)];
    const gated = { ...wide8, approvalRequired: true };
    expect(decideAfter(flat, seeds, [gated])).toMatchObject({ kind: "noop", reason: "no_fitting_blueprint" });
    const action = decideAfter(flat, seeds, [gated], new Set([gated.blueprintId]));
    expect(action).toMatchObject({ kind: "germinate", blueprintId: gated.blueprintId });
    expect(action.kind === "germinate" && action.rationale).toContain("approved by the run's job");
    const quarantined = { ...gated, quarantineOnly: true };
    expect(decideAfter(flat, seeds, [quarantined], new Set([gated.blueprintId]))).toMatchObject({
      kind: "noop",
      reason: "no_fitting_blueprint",
    });
  });

  it("a blueprint fits only if both its input and output widths equal the slot width", () => {
    for (const skewed of [
      { ...low8, outputWidth: 4 },
      { ...low8, inputWidth: 4 },
    ]) {
      const action = decideAfter(flat, [seedState("seed-a", DORMANT)], [skewed]);
      expect(action).toMatchObject({ kind: "noop", reason: "no_fitting_blueprint" });
    }
  });

  it("takes each free slot's width from its seed state: a narrow first slot is passed over for a fitting one", () => {
    const seeds = [seedState("seed-a", DORMANT, 0, 16), seedState("seed-c", DORMANT, 1, 4)];
    expect(decideAfter(flat, seeds)).toMatchObject({
      kind: "germinate",
      seedId: "seed-c",
      slotId: "slot-seed-c",
      slotWidth: 4,
      blueprintId: mlp4.blueprintId,
    });
  });

  it("refuses to decide on a packet the memory has not observed", () => {
    const memory = observePacket(emptyRunMemory("run-a"), packet(0, 1, []));
    const input = { packet: packet(1, 1, []), catalog, approved: new Set<string>(), memory };
    expect(() => policy.decide(input)).toThrow(/validation loss of epoch 1/);
  });

  it("gives the same decisions for the same packets (replay)", () => {
    const seeds = [seedState("seed-a", DORMANT), seedState("seed-b", DORMANT)];
    const run = () => [1, 0.999, 0.998, 0.5].map((_, i, all) => decideAfter(all.slice(0, i + 1), seeds));
    expect(run()).toEqual(run());
  });

  it("applies the rule set it was built with, even if the caller changes its object later", () => {
    const mutable = structuredClone(rules) as {
      plateau: { epochs: number; minRelativeImprovement: number };
    } & RuleSet;
    const own = createRulePolicy(mutable);
    const digest = own.identity.digest;
    mutable.plateau.epochs = 50;
    let memory = emptyRunMemory("run-a");
    let last = packet(0, 0, []);
    flat.forEach((loss, epoch) => {
      last = packet(epoch, loss, [seedState("seed-a", DORMANT)]);
      memory = observePacket(memory, last);
    });
    expect(own.decide({ packet: last, catalog, approved: new Set<string>(), memory })).toMatchObject({
      kind: "germinate",
    });
    expect(own.identity.digest).toBe(digest);
  });

  it("refuses an invalid rule set at construction", () => {
    expect(() => createRulePolicy({ ...rules, plateau: { epochs: 0, minRelativeImprovement: 0 } })).toThrow(
      /plateau\.epochs/,
    );
  });
});
