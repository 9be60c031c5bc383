/** Base class of the errors with which the TaskQueue rejects a caller. */
export class WorkerError extends Error {
  constructor(
    message: string,
    /** The name given to the task at submission. */
    readonly taskName: string,
  ) {
    super(message);
  }
}

/** The task's deadline (counted from submission) passed; it was aborted through its AbortSignal. */
export class WorkerTimeoutError extends WorkerError {
  override readonly name = "WorkerTimeoutError";
  constructor(
    taskName: string,
    readonly timeoutMs: number,
    /** Whether the task was still waiting in the queue or already running when the deadline passed. */
    readonly phase: "queued" | "running",
  ) {
    super(`task '${taskName}' timed out after ${timeoutMs} ms (${phase})`, taskName);
  }
}

/** The caller's AbortSignal fired before the task settled. */
export class WorkerCancelledError extends WorkerError {
  override readonly name = "WorkerCancelledError";
  constructor(
    taskName: string,
    /** The caller signal's abort reason. */
    override readonly cause: unknown,
  ) {
    super(`task '${taskName}' was cancelled by its caller`, taskName);
  }
}

/** The worker is shutting down: the task was refused, dropped from the queue, or aborted at the grace deadline. */
export class WorkerShutdownError extends WorkerError {
  override readonly name = "WorkerShutdownError";
  constructor(taskName: string, detail: string) {
    super(`task '${taskName}': worker shutdown (${detail})`, taskName);
  }
}

/** The worker's queue is at capacity; the task was refused rather than queued without bound. */
export class QueueFullError extends WorkerError {
  override readonly name = "QueueFullError";
  constructor(
    taskName: string,
    readonly queueCapacity: number,
  ) {
    super(`task '${taskName}' refused: worker queue is full (capacity ${queueCapacity})`, taskName);
  }
}
