import { describe, expect, it } from "vitest";
import { SnapshotRing } from "./snapshot-ring.ts";

describe("SnapshotRing", () => {
  it("evicts the oldest snapshots to stay within its bytes and counts them", () => {
    const ring = new SnapshotRing<string>(100);
    ring.add(1, 40, "a");
    ring.add(2, 40, "b");
    expect(ring.evictions).toBe(0);
    ring.add(3, 40, "c");
    expect([ring.size, ring.bytes, ring.evictions]).toEqual([2, 80, 1]);
    expect(ring.atOrBefore(1)).toBeUndefined();
    ring.add(4, 90, "d");
    expect([ring.size, ring.bytes, ring.evictions]).toEqual([1, 90, 3]);
  });

  it("finds the newest snapshot at or before a step", () => {
    const ring = new SnapshotRing<string>(100);
    ring.add(2, 10, "a");
    ring.add(5, 10, "b");
    expect(ring.atOrBefore(4)?.value).toBe("a");
    expect(ring.atOrBefore(9)?.value).toBe("b");
    ring.dropAfter(3);
    expect([ring.size, ring.bytes]).toEqual([1, 10]);
  });

  it("refuses a snapshot larger than the ring and steps out of order", () => {
    const ring = new SnapshotRing<string>(100);
    expect(() => ring.add(1, 101, "x")).toThrow("does not fit the ring's 100 bytes");
    ring.add(3, 1, "a");
    expect(() => ring.add(3, 1, "b")).toThrow("snapshot step 3 is not after the newest (3)");
  });
});
