import { FIRST_DIRECTIVE_SEQUENCE, type SeedDirective } from "../../contracts/messages/seed.ts";
import { DirectiveGapError } from "./errors.ts";

/** What `enqueue` did with a directive. */
export type EnqueueOutcome =
  | { readonly status: "queued" }
  /** Its sequence was applied already or is queued already: skipped (the caller acks it, nothing is applied twice). */
  | { readonly status: "duplicate"; readonly reason: string };

/**
 * Seed directives waiting for the next step boundary. Each seed's directives are released in
 * `sequence` order, each sequence exactly once: a sequence that was released or is queued already is a
 * duplicate; a missing sequence below a queued one is a `DirectiveGapError` at `takeReady`.
 */
export class DirectiveQueue {
  private readonly nextBySeed = new Map<string, number>();
  private readonly pending = new Map<string, Map<number, SeedDirective>>();
  private duplicateCount = 0;

  /** Queues a directive for the next boundary, or reports it as a duplicate. */
  enqueue(directive: SeedDirective): EnqueueOutcome {
    const { seedId, sequence } = directive;
    const next = this.nextBySeed.get(seedId) ?? FIRST_DIRECTIVE_SEQUENCE;
    const queued = this.pending.get(seedId);
    if (sequence < next || queued?.has(sequence)) {
      this.duplicateCount++;
      const where = sequence < next ? `was applied already (next is ${next})` : "is queued already";
      return { status: "duplicate", reason: `seed '${seedId}': sequence ${sequence} ${where}` };
    }
    if (queued) queued.set(sequence, directive);
    else this.pending.set(seedId, new Map([[sequence, directive]]));
    return { status: "queued" };
  }

  /**
   * Removes and returns every directive that is next in its seed's sequence, per seed in sequence
   * order (seeds in the order they were first queued). Throws `DirectiveGapError` (and releases
   * nothing) when a seed's lowest queued sequence is above its next one.
   */
  takeReady(): SeedDirective[] {
    for (const [seedId, queued] of this.pending) {
      const next = this.nextBySeed.get(seedId) ?? FIRST_DIRECTIVE_SEQUENCE;
      if (!queued.has(next)) {
        throw new DirectiveGapError(
          seedId,
          next,
          [...queued.keys()].sort((a, b) => a - b),
        );
      }
    }
    const ready: SeedDirective[] = [];
    for (const [seedId, queued] of this.pending) {
      let next = this.nextBySeed.get(seedId) ?? FIRST_DIRECTIVE_SEQUENCE;
      for (let d = queued.get(next); d !== undefined; d = queued.get(next)) {
        ready.push(d);
        queued.delete(next);
        next++;
      }
      this.nextBySeed.set(seedId, next);
      if (queued.size === 0) this.pending.delete(seedId);
    }
    return ready;
  }

  /** Directives waiting (a seed's directives past a gap included). */
  get size(): number {
    let n = 0;
    for (const q of this.pending.values()) n += q.size;
    return n;
  }

  /** Duplicates skipped so far. */
  get duplicates(): number {
    return this.duplicateCount;
  }
}
