/**
 * A least-recently-used map bounded by the bytes of its values: an insert that takes the total over
 * `maxBytes` evicts the least recently used entries until it fits. A value larger than the bound is not
 * stored (`set` returns false). Counts evictions.
 */
export class ByteLru<V> {
  private readonly entries = new Map<string, { readonly value: V; readonly bytes: number }>();
  private total = 0;
  private evicted = 0;

  constructor(readonly maxBytes: number) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new RangeError(`maxBytes must be an integer >= 0, got ${maxBytes}`);
    }
  }

  /** The value of `key`, now the most recently used; undefined when absent. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Stores `value` (weighing `bytes`) as the most recently used, evicting others to fit; false when it can never fit. */
  set(key: string, value: V, bytes: number): boolean {
    if (!Number.isSafeInteger(bytes) || bytes < 0)
      throw new RangeError(`bytes must be an integer >= 0, got ${bytes}`);
    this.delete(key);
    if (bytes > this.maxBytes) return false;
    while (this.total + bytes > this.maxBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.delete(oldest.value);
      this.evicted++;
    }
    this.entries.set(key, { value, bytes });
    this.total += bytes;
    return true;
  }

  /** Removes `key`; true when it was present (not counted as an eviction). */
  delete(key: string): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.entries.delete(key);
    this.total -= entry.bytes;
    return true;
  }

  /** Keys from least to most recently used. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  get size(): number {
    return this.entries.size;
  }

  /** The bytes held now. */
  get bytes(): number {
    return this.total;
  }

  /** Entries evicted to make room so far. */
  get evictions(): number {
    return this.evicted;
  }
}
