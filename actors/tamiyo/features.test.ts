import { describe, expect, it } from "vitest";
import {
  buildFeatures,
  CANDIDATE_FEATURES,
  candidateOffset,
  FEATURE_WIDTH,
  GLOBAL_FEATURES,
  MAX_SLOTS,
  SLOT_FEATURES,
  slotOffset,
} from "./features.ts";
import type { PolicyInput } from "./policy.ts";
import { emptyRunMemory, observePacket, type RunMemory } from "./run-memory.ts";
import { DORMANT, descriptor, FOSSILIZED, packet, seedState, TRAINING } from "./testing/fixtures.ts";

const rule = { epochs: 3, minRelativeImprovement: 0.01 };
const catalog = [
  descriptor("low-rank-linear", 8, 4),
  descriptor("residual-mlp", 8, 8),
  descriptor("residual-mlp", 16, 16),
  descriptor("wide-single-layer", 8, 32, 1, { approvalRequired: true }),
];
const seeds = [seedState("seed-b", DORMANT, 1, 8), seedState("seed-a", FOSSILIZED, 0, 8)];

function inputOf(losses: readonly number[], s = seeds, cat = catalog): PolicyInput {
  let memory: RunMemory = emptyRunMemory("run-a");
  let last = packet(0, losses[0] ?? 1, s);
  losses.forEach((loss, epoch) => {
    last = packet(epoch, loss, s);
    memory = observePacket(memory, last);
  });
  return { packet: last, catalog: cat, approved: new Set<string>(), memory };
}

const globalAt = (v: Float32Array, name: (typeof GLOBAL_FEATURES)[number]) =>
  v[GLOBAL_FEATURES.indexOf(name)];

describe("policy features", () => {
  it("has the declared width and does not depend on the order of seeds or catalog entries", () => {
    const a = buildFeatures(inputOf([1, 1, 1, 1]), rule);
    const b = buildFeatures(inputOf([1, 1, 1, 1], [...seeds].reverse(), [...catalog].reverse()), rule);
    expect(a.vector).toHaveLength(FEATURE_WIDTH);
    expect(Array.from(b.vector)).toEqual(Array.from(a.vector));
    expect(a.slots.map((s) => s.seedId)).toEqual(["seed-a", "seed-b"]);
  });

  it("encodes the plateau status of the run memory", () => {
    const flat = buildFeatures(inputOf([1, 1, 1, 1]), rule).vector;
    const improving = buildFeatures(inputOf([1, 0.9, 0.8, 0.7]), rule).vector;
    expect(globalAt(flat, "plateau.atLeastK")).toBe(1);
    expect(globalAt(flat, "plateau.epochsWithoutImprovement")).toBe(1);
    expect(globalAt(improving, "plateau.atLeastK")).toBe(0);
    expect(globalAt(improving, "plateau.epochsWithoutImprovement")).toBe(0);
  });

  it("marks present slots and leaves padded slots zero; in-flight and dormant flags per slot", () => {
    const f = buildFeatures(inputOf([1], [seedState("s", TRAINING, 0, 8)]), rule).vector;
    expect(f[slotOffset(0)]).toBe(1);
    expect(f[slotOffset(0) + 1 + TRAINING]).toBe(1);
    expect(globalAt(f, "seeds.anyInFlight")).toBe(1);
    expect(globalAt(f, "seeds.anyDormant")).toBe(0);
    for (let i = 1; i < MAX_SLOTS; i++) {
      expect(Array.from(f.subarray(slotOffset(i), slotOffset(i) + SLOT_FEATURES)).every((x) => x === 0)).toBe(
        true,
      );
    }
  });

  it("takes as candidates the catalog blueprints fitting a DORMANT slot, lowest risk first, with usability", () => {
    const f = buildFeatures(inputOf([1]), rule);
    expect(f.candidates.map((b) => b.blueprintId)).toEqual([
      catalog[0]?.blueprintId,
      catalog[1]?.blueprintId,
      catalog[3]?.blueprintId,
    ]);
    expect(f.usable).toEqual([true, true, false]);
    expect(f.vector[candidateOffset(2)]).toBe(1);
    expect(f.vector[candidateOffset(2) + 3]).toBe(1);
    expect(f.vector[candidateOffset(3)]).toBe(0);
    expect(candidateOffset(0) + 24 * CANDIDATE_FEATURES).toBe(FEATURE_WIDTH);
  });

  it("records coverage: which named inputs were present", () => {
    const f = buildFeatures(inputOf([1]), rule);
    expect(f.coverage.absent).toEqual(
      expect.arrayContaining(["memory.lastGermination", "memory.plateauWindow"]),
    );
    expect(f.coverage.present).toEqual(expect.arrayContaining(["seedStates", "catalog", "validationLoss"]));
    expect(f.coverage.ratio).toBeCloseTo(
      f.coverage.present.length / (f.coverage.present.length + f.coverage.absent.length),
    );
    const full = buildFeatures(inputOf([1, 1, 1, 1, 1]), rule);
    expect(full.coverage.ratio).toBeGreaterThan(f.coverage.ratio);
  });

  it("refuses more slots than the vector holds and a memory without the packet's epoch, naming them", () => {
    const many = Array.from({ length: MAX_SLOTS + 1 }, (_, i) => seedState(`s${i}`, DORMANT, i, 8));
    expect(() => buildFeatures(inputOf([1], many), rule)).toThrow(/seedStates holds 9 slots/);
    const input = inputOf([1, 1]);
    expect(() => buildFeatures({ ...input, memory: emptyRunMemory("run-a") }, rule)).toThrow(
      /validation loss of epoch 1/,
    );
  });
});
