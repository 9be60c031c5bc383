import { describe, expect, it } from "vitest";
import { SeedLifecycleStage as S } from "../../contracts/enums.ts";
import { EmbargoActiveError, IllegalSeedTransitionError } from "./errors.ts";
import { SeedLifecycle, seedTransitions } from "./lifecycle.ts";
import { type SeedStage, seedStages } from "./stages.ts";

function fakeClock(startMs = 1_000) {
  let now = startMs;
  return { clock: () => now, advance: (ms: number) => (now += ms) };
}

function seedIn(path: readonly SeedStage[], embargoMs = 30_000) {
  const time = fakeClock();
  const seed = new SeedLifecycle({ seedId: "s1", embargoMs, clock: time.clock });
  for (const stage of path) seed.transition(stage, "test");
  return { seed, time };
}

describe("seedTransitions", () => {
  it("is the reference table over the 11 stages", () => {
    expect(Object.keys(seedTransitions).map(Number)).toEqual([...seedStages]);
    expect(seedStages).toHaveLength(11);
    const edges = Object.entries(seedTransitions).flatMap(([from, tos]) => tos.map((to) => `${from}>${to}`));
    expect(edges.sort()).toEqual(
      [
        [S.DORMANT, S.GERMINATED],
        [S.DORMANT, S.TERMINATED],
        [S.GERMINATED, S.TRAINING],
        [S.GERMINATED, S.CULLED],
        [S.TRAINING, S.BLENDING],
        [S.TRAINING, S.CULLED],
        [S.BLENDING, S.SHADOWING],
        [S.BLENDING, S.CULLED],
        [S.SHADOWING, S.PROBATIONARY],
        [S.SHADOWING, S.CULLED],
        [S.PROBATIONARY, S.FOSSILIZED],
        [S.PROBATIONARY, S.CULLED],
        [S.FOSSILIZED, S.TERMINATED],
        [S.CULLED, S.EMBARGOED],
        [S.EMBARGOED, S.RESETTING],
        [S.RESETTING, S.DORMANT],
      ]
        .map(([a, b]) => `${a}>${b}`)
        .sort(),
    );
  });
});

describe("SeedLifecycle", () => {
  it("starts DORMANT and records each change with reason and time", () => {
    const { seed, time } = seedIn([]);
    expect(seed.stage).toBe(S.DORMANT);
    seed.transition(S.GERMINATED, "command c1");
    time.advance(5);
    seed.transition(S.TRAINING, "kernel attached");
    expect(seed.stage).toBe(S.TRAINING);
    expect(seed.history).toEqual([
      { from: S.DORMANT, to: S.GERMINATED, reason: "command c1", atMs: 1_000 },
      { from: S.GERMINATED, to: S.TRAINING, reason: "kernel attached", atMs: 1_005 },
    ]);
  });

  it("walks the whole happy path to TERMINATED", () => {
    const { seed } = seedIn([
      S.GERMINATED,
      S.TRAINING,
      S.BLENDING,
      S.SHADOWING,
      S.PROBATIONARY,
      S.FOSSILIZED,
      S.TERMINATED,
    ]);
    expect(seed.stage).toBe(S.TERMINATED);
    for (const to of seedStages) expect(seed.can(to)).toBe(false);
  });

  it("throws on an illegal move, naming the seed and both stages, and keeps the stage", () => {
    const { seed } = seedIn([S.GERMINATED]);
    expect(() => seed.transition(S.FOSSILIZED, "skip")).toThrow(IllegalSeedTransitionError);
    expect(() => seed.transition(S.FOSSILIZED, "skip")).toThrow(
      "seed s1: illegal lifecycle transition GERMINATED → FOSSILIZED",
    );
    expect(seed.stage).toBe(S.GERMINATED);
    expect(seed.history).toHaveLength(1);
  });

  it("throws on a same-stage move instead of skipping it", () => {
    const { seed } = seedIn([S.GERMINATED, S.TRAINING]);
    expect(() => seed.transition(S.TRAINING, "again")).toThrow(
      "seed s1: illegal lifecycle transition TRAINING → TRAINING",
    );
    expect(seed.history).toHaveLength(2);
  });

  it("records the embargo end when a culled seed is embargoed", () => {
    const { seed, time } = seedIn([S.GERMINATED, S.TRAINING, S.CULLED]);
    expect(seed.embargoUntilMs).toBeUndefined();
    time.advance(100);
    seed.transition(S.EMBARGOED, "gate G1 failed");
    expect(seed.embargoUntilMs).toBe(1_100 + 30_000);
    expect(seed.embargoActive(31_099)).toBe(true);
    expect(seed.embargoActive(31_100)).toBe(false);
  });

  it("refuses EMBARGOED → RESETTING before the embargo ends and allows it at the end", () => {
    const { seed, time } = seedIn([S.GERMINATED, S.CULLED, S.EMBARGOED]);
    time.advance(29_999);
    expect(() => seed.transition(S.RESETTING, "retire")).toThrow(EmbargoActiveError);
    expect(() => seed.transition(S.RESETTING, "retire")).toThrow(
      "seed s1 is under embargo until 31000 (1 ms left): reset refused",
    );
    expect(seed.stage).toBe(S.EMBARGOED);
    time.advance(1);
    seed.transition(S.RESETTING, "retire");
    seed.transition(S.DORMANT, "reset clean");
    expect(seed.stage).toBe(S.DORMANT);
  });

  it("lets a zero embargo end at once", () => {
    const { seed } = seedIn([S.GERMINATED, S.CULLED, S.EMBARGOED], 0);
    seed.transition(S.RESETTING, "retire");
    expect(seed.stage).toBe(S.RESETTING);
  });

  it("rejects a negative or fractional embargo length", () => {
    const clock = () => 0;
    expect(() => new SeedLifecycle({ seedId: "s", embargoMs: -1, clock })).toThrow(/embargoMs/);
    expect(() => new SeedLifecycle({ seedId: "s", embargoMs: 1.5, clock })).toThrow(/embargoMs/);
  });
});
