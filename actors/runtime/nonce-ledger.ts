import { DuplicateNonceError, InvalidLedgerSnapshotError } from "./command-errors.ts";

/** How long a nonce is remembered and how many are kept at most (settings `security.nonceTtlMs`, `security.nonceMaxEntries`). */
export interface NonceLedgerOptions {
  readonly ttlMs: number;
  readonly maxEntries: number;
}

/** A nonce held by the ledger and the time (ms since the epoch) it expires. */
export interface NonceEntry {
  readonly nonce: string;
  readonly expiresAtMs: number;
}

/** The ledger as plain data: its unexpired nonces in registration order and its eviction count. */
export interface NonceLedgerSnapshot {
  readonly entries: readonly NonceEntry[];
  readonly evictions: number;
}

/**
 * The nonces of accepted commands, each remembered for `ttlMs` after it was registered. Expired nonces
 * are purged lazily (on `register`, oldest first). At `maxEntries` the oldest nonce is evicted to make
 * room and counted in `evictions`: an evicted nonce can be replayed while its command is still fresh,
 * so a rising count means the cap is too small for the command rate.
 */
export class NonceLedger {
  readonly ttlMs: number;
  readonly maxEntries: number;
  /** nonce → expiry (ms since the epoch), in registration order. */
  private readonly expiries = new Map<string, number>();
  private evicted = 0;

  constructor(options: NonceLedgerOptions) {
    if (!Number.isInteger(options.ttlMs) || options.ttlMs < 1) {
      throw new RangeError(`ttlMs must be an integer >= 1, got ${options.ttlMs}`);
    }
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`maxEntries must be an integer >= 1, got ${options.maxEntries}`);
    }
    this.ttlMs = options.ttlMs;
    this.maxEntries = options.maxEntries;
  }

  /** Nonces held, expired ones not yet purged included. */
  get size(): number {
    return this.expiries.size;
  }

  /** Unexpired nonces evicted because the ledger was full, since construction. */
  get evictions(): number {
    return this.evicted;
  }

  /** Whether `nonce` was registered and has not expired at `nowMs`. */
  has(nonce: string, nowMs: number): boolean {
    const expiry = this.expiries.get(nonce);
    return expiry !== undefined && nowMs < expiry;
  }

  /**
   * Remembers `nonce` until `nowMs + ttlMs`, after purging expired nonces and, if still full, evicting
   * the oldest. Throws DuplicateNonceError for a nonce that is held and unexpired.
   */
  register(nonce: string, nowMs: number): void {
    if (this.has(nonce, nowMs)) throw new DuplicateNonceError(nonce);
    this.expiries.delete(nonce);
    this.purgeExpired(nowMs);
    for (const oldest of this.expiries.keys()) {
      if (this.expiries.size < this.maxEntries) break;
      this.expiries.delete(oldest);
      this.evicted++;
    }
    this.expiries.set(nonce, nowMs + this.ttlMs);
  }

  /** Forgets every nonce (an administrative reset); the eviction count stays. */
  clear(): void {
    this.expiries.clear();
  }

  /** The nonces unexpired at `nowMs`, oldest first, and the eviction count. */
  snapshot(nowMs: number): NonceLedgerSnapshot {
    const entries: NonceEntry[] = [];
    for (const [nonce, expiresAtMs] of this.expiries) {
      if (nowMs < expiresAtMs) entries.push({ nonce, expiresAtMs });
    }
    return { entries, evictions: this.evicted };
  }

  /**
   * A ledger holding `snapshot`'s nonces; beyond `maxEntries` (a smaller cap than when it was taken)
   * the oldest are evicted and counted. Throws InvalidLedgerSnapshotError (naming `field` and the entry) for a
   * nonce listed twice or expiries out of registration order.
   */
  static restore(options: NonceLedgerOptions, snapshot: NonceLedgerSnapshot, field = "nonces"): NonceLedger {
    const ledger = new NonceLedger(options);
    let previous = 0;
    snapshot.entries.forEach(({ nonce, expiresAtMs }, i) => {
      if (ledger.expiries.has(nonce)) {
        throw new InvalidLedgerSnapshotError(`${field}.entries[${i}].nonce`, `${nonce} is listed twice`);
      }
      if (expiresAtMs < previous) {
        throw new InvalidLedgerSnapshotError(
          `${field}.entries[${i}].expiresAtMs`,
          `${expiresAtMs} is before the previous entry's ${previous}: entries must be in registration order`,
        );
      }
      previous = expiresAtMs;
      ledger.expiries.set(nonce, expiresAtMs);
    });
    ledger.evicted = snapshot.evictions;
    for (const oldest of ledger.expiries.keys()) {
      if (ledger.expiries.size <= ledger.maxEntries) break;
      ledger.expiries.delete(oldest);
      ledger.evicted++;
    }
    return ledger;
  }

  /** Drops expired nonces from the oldest on, stopping at the first unexpired one. */
  private purgeExpired(nowMs: number): void {
    for (const [nonce, expiry] of this.expiries) {
      if (nowMs < expiry) return;
      this.expiries.delete(nonce);
    }
  }
}
