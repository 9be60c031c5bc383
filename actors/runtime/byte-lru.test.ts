import { describe, expect, it } from "vitest";
import { ByteLru } from "./byte-lru.ts";

describe("ByteLru", () => {
  it("evicts the least recently used entries until the new one fits the byte bound", () => {
    const lru = new ByteLru<string>(100);
    lru.set("a", "A", 40);
    lru.set("b", "B", 40);
    expect(lru.get("a")).toBe("A");
    lru.set("c", "C", 40);
    expect(lru.keys()).toEqual(["a", "c"]);
    expect([lru.bytes, lru.evictions]).toEqual([80, 1]);
    lru.set("d", "D", 100);
    expect(lru.keys()).toEqual(["d"]);
    expect([lru.bytes, lru.evictions]).toEqual([100, 3]);
  });

  it("stores nothing larger than the bound and replaces a key's weight", () => {
    const lru = new ByteLru<string>(50);
    expect(lru.set("big", "X", 51)).toBe(false);
    expect(lru.size).toBe(0);
    lru.set("a", "A", 30);
    lru.set("a", "A2", 10);
    expect([lru.get("a"), lru.bytes, lru.evictions]).toEqual(["A2", 10, 0]);
    expect(lru.delete("a")).toBe(true);
    expect(lru.bytes).toBe(0);
  });

  it("refuses a bad bound or weight", () => {
    expect(() => new ByteLru(-1)).toThrow(/maxBytes/);
    expect(() => new ByteLru(10).set("a", 1, 1.5)).toThrow(/bytes/);
  });
});
