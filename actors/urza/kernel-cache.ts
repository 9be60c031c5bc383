import { performance } from "node:perf_hooks";
import { ByteLru } from "../runtime/byte-lru.ts";

/** How a request was served: from the cache, by its own load, or by waiting for another request's load of the same key. */
export type CacheOutcome = "hit" | "miss" | "wait";

/** What a load produced: `bytes` given → stored under that weight; absent → handed to the waiters, not stored. */
export interface Loaded<V> {
  readonly value: V;
  readonly bytes?: number;
}

/** A value and how it was obtained; `lockWaitMs` is the time spent waiting for another request's load (0 unless `wait`). */
export interface Obtained<V> {
  readonly value: V;
  readonly outcome: CacheOutcome;
  readonly lockWaitMs: number;
}

/** Counters of a {@link KernelCache}; `hitRatio` = hits / (hits + misses + waits), 0 before any request. */
export interface KernelCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly waits: number;
  readonly hitRatio: number;
  readonly entries: number;
  readonly bytes: number;
  readonly maxBytes: number;
  readonly evictions: number;
}

/**
 * Urza's kernel cache: a {@link ByteLru} of verified, prewarmed kernels with one writer per key
 * (single flight): while a key is being loaded, other requests for it wait for that load and share its
 * result instead of loading again. A result without `bytes` (an error) is shared with the waiters but not
 * stored. A load that throws rejects its waiters too and stores nothing.
 */
export class KernelCache<V> {
  private readonly lru: ByteLru<V>;
  private readonly inflight = new Map<string, Promise<Loaded<V>>>();
  private hits = 0;
  private misses = 0;
  private waits = 0;

  constructor(
    maxBytes: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lru = new ByteLru<V>(maxBytes);
  }

  /** The value of `key`: cached, or loaded once by `load` however many requests ask at the same time. */
  async obtain(key: string, load: () => Promise<Loaded<V>>): Promise<Obtained<V>> {
    const cached = this.lru.get(key);
    if (cached !== undefined) {
      this.hits++;
      return { value: cached, outcome: "hit", lockWaitMs: 0 };
    }
    const running = this.inflight.get(key);
    if (running !== undefined) {
      this.waits++;
      const start = this.now();
      const loaded = await running;
      return { value: loaded.value, outcome: "wait", lockWaitMs: this.now() - start };
    }
    this.misses++;
    const loading = load();
    this.inflight.set(key, loading);
    try {
      const loaded = await loading;
      if (loaded.bytes !== undefined) this.lru.set(key, loaded.value, loaded.bytes);
      return { value: loaded.value, outcome: "miss", lockWaitMs: 0 };
    } finally {
      this.inflight.delete(key);
    }
  }

  stats(): KernelCacheStats {
    const total = this.hits + this.misses + this.waits;
    return {
      hits: this.hits,
      misses: this.misses,
      waits: this.waits,
      hitRatio: total === 0 ? 0 : this.hits / total,
      entries: this.lru.size,
      bytes: this.lru.bytes,
      maxBytes: this.lru.maxBytes,
      evictions: this.lru.evictions,
    };
  }
}
