import { describe, expect, it } from "vitest";
import { RunMemories } from "./run-memories.ts";
import { emptyRunMemory } from "./run-memory.ts";

const withLoss = (run: string, loss: number) => ({ ...emptyRunMemory(run), losses: [{ epoch: 1, loss }] });

describe("RunMemories", () => {
  it("keeps one memory per run and gives an empty one for an unknown run", () => {
    const m = new RunMemories(4);
    m.set(withLoss("a", 1));
    m.set(withLoss("b", 2));
    expect(m.get("a").losses).toEqual([{ epoch: 1, loss: 1 }]);
    expect(m.get("b").losses).toEqual([{ epoch: 1, loss: 2 }]);
    expect(m.get("c")).toEqual(emptyRunMemory("c"));
  });

  it("beyond its capacity forgets the least recently stored run", () => {
    const m = new RunMemories(2);
    expect(m.set(withLoss("a", 1))).toBeUndefined();
    expect(m.set(withLoss("b", 2))).toBeUndefined();
    expect(m.set(withLoss("a", 3))).toBeUndefined();
    expect(m.set(withLoss("c", 4))).toBe("b");
    expect(m.size).toBe(2);
    expect(m.get("b")).toEqual(emptyRunMemory("b"));
    expect(m.get("a").losses).toEqual([{ epoch: 1, loss: 3 }]);
  });

  it("refuses a capacity below 1", () => {
    expect(() => new RunMemories(0)).toThrow(/capacity must be an integer >= 1, got 0/);
  });
});
