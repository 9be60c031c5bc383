import { emptyRunMemory, type RunMemory } from "./run-memory.ts";

/**
 * The memories of the training runs Tamiyo evaluates, by trainingRunId, bounded: storing a run beyond
 * the capacity forgets the least recently stored one (its next packet starts a fresh memory).
 */
export class RunMemories {
  private readonly byRun = new Map<string, RunMemory>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`run memory capacity must be an integer >= 1, got ${capacity}`);
  }

  /** The run's memory, or an empty one for a run not (or no longer) remembered. */
  get(trainingRunId: string): RunMemory {
    return this.byRun.get(trainingRunId) ?? emptyRunMemory(trainingRunId);
  }

  /** Stores a run's memory as the most recent; returns the id of the run forgotten to make room, if any. */
  set(memory: RunMemory): string | undefined {
    this.byRun.delete(memory.trainingRunId);
    this.byRun.set(memory.trainingRunId, memory);
    if (this.byRun.size <= this.capacity) return undefined;
    const oldest = this.byRun.keys().next().value as string;
    this.byRun.delete(oldest);
    return oldest;
  }

  get size(): number {
    return this.byRun.size;
  }
}
