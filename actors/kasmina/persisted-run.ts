import type { KasminaState } from "../../contracts/messages/kasmina-state.ts";
import { KasminaRun, type KasminaRunOptions } from "./kasmina-run.ts";

/** Where a run's state is written (the KV store; a map in unit tests). */
export interface StateWriter {
  save(state: KasminaState): Promise<void>;
}

/**
 * A KasminaRun whose every change is stored before the message that caused it is acked. Steps run one
 * at a time (commands and reports alike, prefetch included), each followed by a write of the whole
 * state. When a step or the write fails, the run goes back to the state last stored and the error is
 * rethrown, so the message can be handled again from there: the directives it decides again get the
 * same ids (`directiveIdOf`), which the stream stores once.
 */
export class PersistedRun {
  private current: KasminaRun;
  private saved: KasminaState | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  /** `stored` is the state loaded at start (undefined: the run has none, it starts fresh). */
  constructor(
    private readonly options: KasminaRunOptions,
    private readonly writer: StateWriter,
    stored: KasminaState | undefined,
    private readonly clock: () => number,
  ) {
    this.saved = stored;
    this.current = this.lastStored();
  }

  /** The run as it is now (between steps: as stored). */
  get run(): KasminaRun {
    return this.current;
  }

  /** Runs `step` alone, then stores the state; on failure restores the last stored state and rethrows. */
  apply<T>(step: (run: KasminaRun) => Promise<T>): Promise<T> {
    const result = this.tail.then(async () => {
      try {
        const value = await step(this.current);
        const state = this.current.state(this.clock());
        await this.writer.save(state);
        this.saved = state;
        return value;
      } catch (err) {
        this.current = this.lastStored();
        throw err;
      }
    });
    this.tail = result.catch(() => undefined);
    return result;
  }

  private lastStored(): KasminaRun {
    return this.saved === undefined
      ? KasminaRun.fresh(this.options)
      : KasminaRun.restore(this.options, this.saved);
  }
}
