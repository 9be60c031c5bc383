import { describe, expect, it } from "vitest";
import { DuplicateNonceError } from "./errors.ts";
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
