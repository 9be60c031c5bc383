import type { SeedDirective } from "../../contracts/messages/seed.ts";
import type { RefusedDirective } from "./trainer.ts";

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/**
 * The directive handlers waiting for their step boundary: `wait` holds a handler (so the message is
 * acked only after this) until `settle` reports the directive applied or refused, or `closeAll` ends
 * the wait with an error (training over or draining).
 */
export class DirectiveAcks {
  private readonly waiting = new Map<string, Waiter>();

  /** Directives waiting. */
  get size(): number {
    return this.waiting.size;
  }

  /** Resolves once `directive` was applied or refused at a step boundary. */
  wait(directive: SeedDirective): Promise<void> {
    const key = keyOf(directive);
    if (this.waiting.has(key)) throw new Error(`directive ${key} is waiting already`);
    return new Promise((resolve, reject) => this.waiting.set(key, { resolve, reject }));
  }

  /** Releases the handlers of a step boundary's applied and refused directives. */
  settle(applied: readonly SeedDirective[], refused: readonly RefusedDirective[]): void {
    for (const d of [...applied, ...refused.map((r) => r.directive)]) {
      const key = keyOf(d);
      this.waiting.get(key)?.resolve();
      this.waiting.delete(key);
    }
  }

  /** Ends every wait with `error`. */
  closeAll(error: Error): void {
    for (const w of this.waiting.values()) w.reject(error);
    this.waiting.clear();
  }
}

const keyOf = (d: SeedDirective): string => `${d.seedId}#${d.sequence}`;
