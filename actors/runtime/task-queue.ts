import type { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import { IdleSignal } from "./idle-signal.ts";
import { type LatencySummary, LatencyWindow } from "./latency-window.ts";
import {
  QueueFullError,
  WorkerCancelledError,
  WorkerShutdownError,
  WorkerTimeoutError,
} from "./worker-errors.ts";

/** Configuration of the TaskQueue: the `worker` section of the worker settings. */
export type TaskQueueConfig = WorkerSettings["worker"];

/** A unit of work: it receives an AbortSignal that fires on timeout, caller cancellation or shutdown. */
export type WorkerTask<T> = (signal: AbortSignal) => Promise<T>;

/** Options of one submission. */
export interface SubmitOptions {
  /** Deadline in milliseconds counted from submission; defaults to the configured `defaultTimeoutMs`. */
  readonly timeoutMs?: number;
  /** Cancels the task: the caller is rejected with WorkerCancelledError and the task's signal fires. */
  readonly signal?: AbortSignal;
  /** Names the task in errors and reports. */
  readonly name?: string;
}

/** Counters and gauges of the worker. */
export interface TaskQueueMetrics {
  /** Every call to `submit` that passed argument checks. */
  readonly submitted: number;
  /** Tasks whose function was invoked. */
  readonly started: number;
  /** Callers resolved with the task's value. */
  readonly completed: number;
  /** Callers rejected with the task's own error. */
  readonly failed: number;
  /** Callers rejected because their signal fired or shutdown cancelled the task. */
  readonly cancelled: number;
  /** Callers rejected with WorkerTimeoutError. */
  readonly timedOut: number;
  /** Submissions refused (queue full, or worker shut down). */
  readonly rejected: number;
  /** Tasks whose function is running (occupying a slot), zombies included. */
  readonly inFlight: number;
  /** Running tasks whose caller was already rejected (timed out or cancelled) that have not settled yet. */
  readonly zombies: number;
  /** Tasks waiting for a slot. */
  readonly queueDepth: number;
  readonly concurrency: number;
  /** Submission-to-caller-settlement latency of recent tasks (every outcome). */
  readonly latency: LatencySummary;
}

/** What `shutdown` did. */
export interface ShutdownReport {
  /** Queued tasks rejected with WorkerShutdownError without starting. */
  readonly cancelledQueued: number;
  /** Tasks running when shutdown began. */
  readonly runningAtStart: number;
  /** Names of tasks still running at the grace deadline; they were aborted and their callers rejected. */
  readonly abortedAtGrace: readonly string[];
}

interface Job {
  readonly name: string;
  readonly task: WorkerTask<unknown>;
  readonly timeoutMs: number;
  readonly submittedAt: number;
  readonly controller: AbortController;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly callerSignal: AbortSignal | undefined;
  readonly onCallerAbort: () => void;
  state: "queued" | "running" | "done";
  /** The caller has been resolved or rejected. */
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
}

const MAX_TIMER_MS = 2_147_483_647;

/**
 * The process's shared task queue (the "worker" of the worker settings). It runs promises on the
 * main thread, not in a worker thread: submitted tasks run with bounded concurrency from a
 * bounded FIFO queue, each with a deadline counted from submission. When the deadline passes, or the
 * caller's signal fires, the caller is rejected at once (WorkerTimeoutError / WorkerCancelledError)
 * and the task's AbortSignal fires; a task that ignores its signal keeps its slot until it really
 * settles and is counted as a zombie meanwhile. A task that times out while queued never starts.
 * A task's own error rejects its caller and does not affect other tasks.
 */
export class TaskQueue {
  private config: TaskQueueConfig;
  private readonly queue = new Map<number, Job>();
  private readonly running = new Set<Job>();
  private nextId = 0;
  private zombies = 0;
  private closing = false;
  private shutdownPromise: Promise<ShutdownReport> | undefined;
  private readonly idle = new IdleSignal(() => this.isIdle());
  private readonly latency = new LatencyWindow();
  private readonly counts = {
    submitted: 0,
    started: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
    timedOut: 0,
    rejected: 0,
  };

  constructor(config: TaskQueueConfig) {
    checkConfig(config);
    this.config = { ...config };
  }

  /** The configuration in force. */
  get settings(): TaskQueueConfig {
    return { ...this.config };
  }

  /** Runs `task` when a slot is free; resolves with its value or rejects with its error or a WorkerError. */
  submit<T>(task: WorkerTask<T>, opts: SubmitOptions = {}): Promise<T> {
    const name = opts.name ?? "task";
    const timeoutMs = opts.timeoutMs ?? this.config.defaultTimeoutMs;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMER_MS) {
      return Promise.reject(
        new RangeError(`task '${name}': timeoutMs must be in (0, ${MAX_TIMER_MS}], got ${timeoutMs}`),
      );
    }
    this.counts.submitted++;
    if (this.closing) {
      this.counts.rejected++;
      return Promise.reject(new WorkerShutdownError(name, "not accepting tasks"));
    }
    if (opts.signal?.aborted) {
      this.counts.cancelled++;
      return Promise.reject(new WorkerCancelledError(name, opts.signal.reason));
    }
    const mustQueue = this.running.size >= this.config.concurrency || this.queue.size > 0;
    if (mustQueue && this.queue.size >= this.config.queueCapacity) {
      this.counts.rejected++;
      return Promise.reject(new QueueFullError(name, this.config.queueCapacity));
    }
    return new Promise<T>((resolve, reject) => {
      const id = this.nextId++;
      const job: Job = {
        name,
        task,
        timeoutMs,
        submittedAt: performance.now(),
        controller: new AbortController(),
        resolve: resolve as (value: unknown) => void,
        reject,
        callerSignal: opts.signal,
        onCallerAbort: () => this.cancel(id, job),
        state: "queued",
        settled: false,
        timer: undefined,
      };
      job.timer = setTimeout(() => this.expire(id, job), timeoutMs);
      job.callerSignal?.addEventListener("abort", job.onCallerAbort, { once: true });
      if (mustQueue) this.queue.set(id, job);
      else this.start(job);
    });
  }

  /**
   * Applies new limits at once. A higher concurrency starts queued tasks immediately; a lower one lets
   * running tasks finish and starts no new ones until below it. A lower queue capacity refuses new
   * submissions until the queue is below it; queued tasks are kept.
   */
  reconfigure(change: Partial<TaskQueueConfig>): TaskQueueConfig {
    const next = { ...this.config, ...change };
    checkConfig(next);
    this.config = next;
    this.pump();
    return this.settings;
  }

  /**
   * Stops accepting tasks, rejects queued ones with WorkerShutdownError, waits up to `graceMs` for
   * running tasks to settle, then aborts the rest and rejects their callers. Idempotent.
   */
  shutdown(graceMs: number = this.config.shutdownGraceMs): Promise<ShutdownReport> {
    if (this.shutdownPromise) return this.shutdownPromise;
    this.closing = true;
    let cancelledQueued = 0;
    for (const [id, job] of this.queue) {
      this.queue.delete(id);
      job.state = "done";
      this.settle(job, "cancelled", new WorkerShutdownError(job.name, "dropped from the queue"));
      cancelledQueued++;
    }
    const runningAtStart = this.running.size;
    this.idle.notify();
    this.shutdownPromise = this.idle.within(graceMs).then(() => {
      const abortedAtGrace: string[] = [];
      for (const job of this.running) {
        abortedAtGrace.push(job.name);
        const error = new WorkerShutdownError(job.name, `still running after the ${graceMs} ms grace`);
        job.controller.abort(error);
        if (!job.settled) {
          this.zombies++;
          this.settle(job, "cancelled", error);
        }
      }
      return { cancelledQueued, runningAtStart, abortedAtGrace };
    });
    return this.shutdownPromise;
  }

  /** Resolves when no task is queued or running. */
  whenIdle(): Promise<void> {
    return this.idle.whenIdle();
  }

  /** A snapshot of counters and gauges. */
  metrics(): TaskQueueMetrics {
    return {
      ...this.counts,
      inFlight: this.running.size,
      zombies: this.zombies,
      queueDepth: this.queue.size,
      concurrency: this.config.concurrency,
      latency: this.latency.summary(),
    };
  }

  private start(job: Job): void {
    job.state = "running";
    this.running.add(job);
    this.counts.started++;
    let result: Promise<unknown>;
    try {
      result = Promise.resolve(job.task(job.controller.signal));
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      (value) => this.finish(job, true, value),
      (error: unknown) => this.finish(job, false, error),
    );
  }

  private finish(job: Job, ok: boolean, outcome: unknown): void {
    job.state = "done";
    this.running.delete(job);
    if (job.settled) this.zombies--;
    else if (ok) this.settle(job, "completed", outcome);
    else this.settle(job, "failed", outcome);
    this.pump();
    this.idle.notify();
  }

  private expire(id: number, job: Job): void {
    job.timer = undefined;
    if (job.settled) return;
    // libuv timers count from the loop's cached time and can fire slightly early; never reject early.
    const remaining = job.submittedAt + job.timeoutMs - performance.now();
    if (remaining > 0) {
      job.timer = setTimeout(() => this.expire(id, job), Math.ceil(remaining));
      return;
    }
    const error = new WorkerTimeoutError(
      job.name,
      job.timeoutMs,
      job.state === "queued" ? "queued" : "running",
    );
    this.abandon(id, job, "timedOut", error);
  }

  private cancel(id: number, job: Job): void {
    if (job.settled) return;
    this.abandon(id, job, "cancelled", new WorkerCancelledError(job.name, job.callerSignal?.reason));
  }

  /** Rejects the caller now; a queued job is dropped, a running one is aborted and becomes a zombie. */
  private abandon(id: number, job: Job, outcome: "timedOut" | "cancelled", error: Error): void {
    if (job.state === "queued") {
      this.queue.delete(id);
      job.state = "done";
      this.settle(job, outcome, error);
      this.idle.notify();
      return;
    }
    this.zombies++;
    this.settle(job, outcome, error);
    job.controller.abort(error);
  }

  private settle(job: Job, outcome: "completed" | "failed" | "cancelled" | "timedOut", value: unknown): void {
    job.settled = true;
    if (job.timer !== undefined) clearTimeout(job.timer);
    job.timer = undefined;
    job.callerSignal?.removeEventListener("abort", job.onCallerAbort);
    this.counts[outcome]++;
    this.latency.record(performance.now() - job.submittedAt);
    if (outcome === "completed") job.resolve(value);
    else job.reject(value);
  }

  private pump(): void {
    while (!this.closing && this.running.size < this.config.concurrency) {
      const first = this.queue.entries().next();
      if (first.done) return;
      const [id, job] = first.value;
      this.queue.delete(id);
      this.start(job);
    }
  }

  private isIdle(): boolean {
    return this.running.size === 0 && this.queue.size === 0;
  }
}

function checkConfig(c: TaskQueueConfig): void {
  const problems: string[] = [];
  const positiveInt = (field: keyof TaskQueueConfig, min: number) => {
    const v = c[field];
    if (!Number.isInteger(v) || v < min) problems.push(`${field} must be an integer >= ${min}, got ${v}`);
  };
  positiveInt("concurrency", 1);
  positiveInt("queueCapacity", 1);
  positiveInt("defaultTimeoutMs", 1);
  positiveInt("shutdownGraceMs", 0);
  if (problems.length > 0) throw new RangeError(`invalid TaskQueue config: ${problems.join("; ")}`);
}
