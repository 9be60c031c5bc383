import { describe, expect, it } from "vitest";
import { DuplicateNonceError, InvalidLedgerSnapshotError } from "./command-errors.ts";
import { NonceLedger } from "./nonce-ledger.ts";

describe("NonceLedger", () => {
  it("holds a registered nonce until its TTL has passed", () => {
    const ledger = new NonceLedger({ ttlMs: 300_000, maxEntries: 10_000 });
    ledger.register("n1", 1_000);
    expect(ledger.has("n1", 1_000)).toBe(true);
    expect(ledger.has("n1", 300_999)).toBe(true);
    expect(ledger.has("n1", 301_000)).toBe(false);
    expect(ledger.has("n2", 1_000)).toBe(false);
  });

  it("purges expired nonces lazily on register", () => {
    const ledger = new NonceLedger({ ttlMs: 100, maxEntries: 10 });
    ledger.register("a", 0);
    ledger.register("b", 50);
    expect(ledger.size).toBe(2);
    ledger.register("c", 120);
    expect(ledger.size).toBe(2);
    expect(ledger.has("a", 120)).toBe(false);
    expect(ledger.has("b", 120)).toBe(true);
    expect(ledger.evictions).toBe(0);
  });

  it("evicts the oldest nonce at the cap and counts each eviction", () => {
    const ledger = new NonceLedger({ ttlMs: 300_000, maxEntries: 3 });
    for (const [i, nonce] of ["a", "b", "c", "d", "e"].entries()) ledger.register(nonce, i);
    expect(ledger.size).toBe(3);
    expect(ledger.evictions).toBe(2);
    expect(ledger.has("a", 10)).toBe(false);
    expect(ledger.has("b", 10)).toBe(false);
    expect(ledger.has("c", 10)).toBe(true);
    expect(ledger.has("e", 10)).toBe(true);
  });

  it("does not count expired nonces dropped at the cap as evictions", () => {
    const ledger = new NonceLedger({ ttlMs: 10, maxEntries: 2 });
    ledger.register("a", 0);
    ledger.register("b", 1);
    ledger.register("c", 20);
    expect(ledger.evictions).toBe(0);
    expect(ledger.size).toBe(1);
  });

  it("refuses to register an unexpired nonce twice and accepts it again after expiry", () => {
    const ledger = new NonceLedger({ ttlMs: 100, maxEntries: 10 });
    ledger.register("a", 0);
    expect(() => ledger.register("a", 99)).toThrow(DuplicateNonceError);
    ledger.register("a", 100);
    expect(ledger.has("a", 150)).toBe(true);
    expect(ledger.size).toBe(1);
  });

  it("rejects a TTL or cap below 1", () => {
    expect(() => new NonceLedger({ ttlMs: 0, maxEntries: 1 })).toThrow(/ttlMs/);
    expect(() => new NonceLedger({ ttlMs: 1, maxEntries: 0 })).toThrow(/maxEntries/);
  });
});

describe("NonceLedger snapshot and restore", () => {
  it("restores the unexpired nonces in order with the eviction count", () => {
    const ledger = new NonceLedger({ ttlMs: 100, maxEntries: 3 });
    for (const [i, nonce] of ["a", "b", "c", "d"].entries()) ledger.register(nonce, i * 10);
    const snapshot = ledger.snapshot(115);
    expect(snapshot).toEqual({
      entries: [
        { nonce: "c", expiresAtMs: 120 },
        { nonce: "d", expiresAtMs: 130 },
      ],
      evictions: 1,
    });
    const restored = NonceLedger.restore({ ttlMs: 100, maxEntries: 3 }, snapshot);
    expect(restored.has("c", 115)).toBe(true);
    expect(restored.has("b", 115)).toBe(false);
    expect(restored.evictions).toBe(1);
    expect(restored.snapshot(115)).toEqual(snapshot);
  });

  it("evicts and counts the oldest nonces beyond a smaller cap", () => {
    const ledger = new NonceLedger({ ttlMs: 100, maxEntries: 3 });
    for (const [i, nonce] of ["a", "b", "c"].entries()) ledger.register(nonce, i);
    const restored = NonceLedger.restore({ ttlMs: 100, maxEntries: 2 }, ledger.snapshot(0));
    expect(restored.snapshot(0).entries.map((e) => e.nonce)).toEqual(["b", "c"]);
    expect(restored.evictions).toBe(1);
  });

  it("refuses a nonce listed twice or entries out of order, naming the entry", () => {
    const options = { ttlMs: 100, maxEntries: 3 };
    const twice = {
      entries: [
        { nonce: "a", expiresAtMs: 10 },
        { nonce: "a", expiresAtMs: 20 },
      ],
      evictions: 0,
    };
    expect(() => NonceLedger.restore(options, twice)).toThrow(
      "snapshot nonces.entries[1].nonce: a is listed twice",
    );
    const unordered = {
      entries: [
        { nonce: "a", expiresAtMs: 20 },
        { nonce: "b", expiresAtMs: 10 },
      ],
      evictions: 0,
    };
    expect(() => NonceLedger.restore(options, unordered)).toThrow(InvalidLedgerSnapshotError);
  });

  it("forgets every nonce on clear", () => {
    const ledger = new NonceLedger({ ttlMs: 100, maxEntries: 3 });
    ledger.register("a", 0);
    ledger.clear();
    expect(ledger.has("a", 0)).toBe(false);
    ledger.register("a", 0);
  });
});
