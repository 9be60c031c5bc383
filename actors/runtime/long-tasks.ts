import type { Logger } from "./logger.ts";

/** A long-running piece of an actor's work (a training loop): runs until done or until `signal` aborts. */
export type LongTask = (signal: AbortSignal) => Promise<void>;

/** What became of the long tasks at the end of a drain. */
export interface LongTasksReport {
  /** Tasks still running when the grace ran out (their names). */
  readonly stillRunning: readonly string[];
}

/**
 * The long tasks of one actor: each runs after `start()` returned, sees the drain signal, and is
 * awaited by the drain. A task that throws (other than with the drain's abort) is a failure of the
 * actor: `onFailure` is told once per failed task.
 */
export class LongTasks {
  private readonly running = new Map<string, Promise<void>>();
  private closed = false;

  constructor(
    private readonly signal: AbortSignal,
    private readonly log: Logger,
    private readonly onFailure: (name: string, error: unknown) => void,
  ) {}

  /** Starts `task` under a unique `name`. Throws once the actor is draining, or when `name` is already running. */
  run(name: string, task: LongTask): void {
    if (this.closed || this.signal.aborted)
      throw new Error(`cannot start task '${name}': the actor is draining`);
    if (this.running.has(name)) throw new Error(`task '${name}' is already running`);
    this.log.info({ task: name }, "long task started");
    const done = (async () => task(this.signal))().then(
      () => this.log.info({ task: name }, "long task finished"),
      (error: unknown) => {
        if (this.signal.aborted && isAbort(error, this.signal)) {
          this.log.info({ task: name }, "long task ended by the drain");
          return;
        }
        this.onFailure(name, error);
      },
    );
    this.running.set(name, done);
    void done.finally(() => this.running.delete(name));
  }

  /** Names of the tasks running now. */
  names(): string[] {
    return [...this.running.keys()];
  }

  /** Refuses new tasks and waits up to `graceMs` for the running ones to end. */
  async settle(graceMs: number): Promise<LongTasksReport> {
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.all(this.running.values()), timeout]);
    clearTimeout(timer);
    return { stillRunning: this.names() };
  }
}

function isAbort(error: unknown, signal: AbortSignal): boolean {
  return error === signal.reason || (error instanceof Error && error.name === "AbortError");
}
