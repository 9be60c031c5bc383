import { describe, expect, it } from "vitest";
import { SeedLifecycleStage as S } from "../../contracts/enums.ts";
import {
  DuplicateSeedError,
  EmbargoActiveError,
  SlotOccupiedError,
  UnknownSeedError,
  UnknownSlotError,
} from "./errors.ts";
import { SlotTable } from "./slot-table.ts";

function table(embargoMs = 30_000) {
  let now = 10_000;
  const slots = new SlotTable({ slotIds: ["a", "b"], embargoMs, clock: () => now });
  return { slots, advance: (ms: number) => (now += ms) };
}

describe("SlotTable", () => {
  it("germinates a seed into an empty slot and finds it by id", () => {
    const { slots } = table();
    const seed = slots.germinate("a", "s1", "command c1");
    expect(seed.stage).toBe(S.GERMINATED);
    expect(slots.seedAt("a")).toBe(seed);
    expect(slots.seedAt("b")).toBeUndefined();
    expect(slots.find("s1")).toEqual({ slotId: "a", seed });
  });

  it("rejects unknown slots and seeds", () => {
    const { slots } = table();
    expect(() => slots.germinate("zz", "s1", "c")).toThrow(UnknownSlotError);
    expect(() => slots.seedAt("zz")).toThrow("slot zz is not a slot of the host model");
    expect(() => slots.find("nope")).toThrow(UnknownSeedError);
  });

  it("refuses a slot list that is empty or names a slot twice", () => {
    expect(() => new SlotTable({ slotIds: [], embargoMs: 0, clock: () => 0 })).toThrow(/at least one/);
    expect(() => new SlotTable({ slotIds: ["a", "a"], embargoMs: 0, clock: () => 0 })).toThrow(/twice/);
  });

  it("refuses to germinate into a slot whose seed is live", () => {
    const { slots } = table();
    slots.germinate("a", "s1", "c1").transition(S.TRAINING, "attached");
    expect(() => slots.germinate("a", "s2", "c2")).toThrow(SlotOccupiedError);
    expect(() => slots.germinate("a", "s2", "c2")).toThrow(/slot a holds seed s1 in TRAINING/);
  });

  it("refuses a seed id that is live in another slot", () => {
    const { slots } = table();
    slots.germinate("a", "s1", "c1");
    expect(() => slots.germinate("b", "s1", "c2")).toThrow(DuplicateSeedError);
  });

  it("refuses germination in a slot under embargo until the embargo ends", () => {
    const { slots, advance } = table();
    const culled = slots.germinate("a", "s1", "c1");
    culled.transition(S.CULLED, "G1 failed");
    culled.transition(S.EMBARGOED, "G1 failed");
    advance(29_999);
    expect(() => slots.germinate("a", "s2", "c2")).toThrow(EmbargoActiveError);
    expect(() => slots.germinate("a", "s2", "c2")).toThrow(
      "slot a is under embargo until 40000 (1 ms left): germinating seed s2 refused",
    );
    advance(1);
    culled.transition(S.RESETTING, "retire");
    culled.transition(S.DORMANT, "reset clean");
    const next = slots.germinate("a", "s2", "c2");
    expect(slots.seedAt("a")).toBe(next);
    expect(next.stage).toBe(S.GERMINATED);
  });

  it("takes a new seed after the old one terminated", () => {
    const { slots } = table();
    const seed = slots.germinate("a", "s1", "c1");
    for (const stage of [
      S.TRAINING,
      S.BLENDING,
      S.SHADOWING,
      S.PROBATIONARY,
      S.FOSSILIZED,
      S.TERMINATED,
    ] as const)
      seed.transition(stage, "t");
    expect(slots.germinate("a", "s2", "c2").seedId).toBe("s2");
  });
});
