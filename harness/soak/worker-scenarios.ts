import type { LatencyWindow } from "../../actors/runtime/latency-window.ts";
import type { TaskQueue, TaskQueueConfig } from "../../actors/runtime/task-queue.ts";
import { WorkerCancelledError, WorkerTimeoutError } from "../../actors/runtime/worker-errors.ts";
import type { Rng } from "../../nn/rng.ts";

/**
 * What a scenario gets: its seeded stream, where to record measurements and broken expectations, and
 * the TaskQueues it drives (created through `queue` so the runner can drain and check them).
 */
export interface ScenarioContext {
  readonly rng: Rng;
  /** Submission-to-settlement latency of every task (ms). */
  readonly latency: LatencyWindow;
  /** How long after its deadline a timed-out caller was rejected (ms); timeout scenarios only. */
  readonly lateness: LatencyWindow;
  /** Records a broken expectation. */
  violation(what: string): void;
  /** Adds to a named outcome counter; outcome counters depend only on the seed. */
  count(name: string, by?: number): void;
  /** Adds to a named timing counter (how the run went on this machine; varies between runs). */
  observe(name: string, by?: number): void;
  /** Tracks a caller promise so the runner can verify that every caller settled. */
  track(p: Promise<unknown>): void;
  /** Creates a TaskQueue that the runner waits for, shuts down and checks for leaks after the scenario. */
  queue(config: TaskQueueConfig): TaskQueue;
}

/** One RC1 soak scenario: drives its queues until every caller it started has settled. */
export type Scenario = (ctx: ScenarioContext) => Promise<void>;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Work lasting `ms`; a cooperative task stops (rejecting with the abort reason) when its signal fires. */
function work(ms: number, signal: AbortSignal, cooperative: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    if (cooperative) signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Work that outlives its deadline or cancellation: it lasts `ms` and, unless it stopped on its signal,
 * ends only once its caller has settled (`callerSettled`). The TaskQueue measures deadlines in wall
 * time while timers run on the loop's cached clock; a task that merely lasted longer than its deadline
 * could still end before the deadline timer fired on a loaded machine (seen under load for timeouts
 * and cancellations), and the outcome would depend on timing.
 */
function outlive(
  ms: number,
  signal: AbortSignal,
  cooperative: boolean,
  callerSettled: Promise<void>,
): Promise<void> {
  return work(ms, signal, cooperative).then(() => callerSettled);
}

/** A promise and the function that resolves it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/** A queue configuration with the soak's common default deadline (10 s) and shutdown grace (1 s). */
function pool(concurrency: number, queueCapacity: number): TaskQueueConfig {
  return { concurrency, queueCapacity, defaultTimeoutMs: 10_000, shutdownGraceMs: 1_000 };
}

/** Wraps task bodies so that more than `limit()` of them running at once is recorded as a violation. */
function activeGuard(ctx: ScenarioContext, scenario: string, limit: () => number) {
  let active = 0;
  return async <T>(body: () => Promise<T>): Promise<T> => {
    active++;
    const max = limit();
    if (active > max) ctx.violation(`${scenario}: ${active} tasks active with concurrency ${max}`);
    try {
      return await body();
    } finally {
      active--;
    }
  };
}

/** Submits `task` and records its latency; returns the outcome instead of throwing. */
async function timed<T>(
  ctx: ScenarioContext,
  p: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  const t0 = performance.now();
  const settled = p().then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  ctx.track(settled);
  const outcome = await settled;
  ctx.latency.record(performance.now() - t0);
  return outcome;
}

/** Many short tasks through a small pool: all complete, never more than `concurrency` at once. */
export const concurrentLoad: Scenario = async (ctx) => {
  const concurrency = 8;
  const worker = ctx.queue(pool(concurrency, 1024));
  const guarded = activeGuard(ctx, "concurrentLoad", () => concurrency);
  const tasks = Array.from({ length: 300 }, (_, i) => {
    const ms = ctx.rng.int(4);
    return timed(ctx, () =>
      worker.submit((signal) => guarded(() => work(ms, signal, true).then(() => i)), { name: `load-${i}` }),
    ).then((o) => {
      if (!o.ok || o.value !== i) ctx.violation(`concurrentLoad: task ${i} did not complete with its value`);
    });
  });
  await Promise.all(tasks);
};

/** Tasks outlive their deadline (half ignore their signal): every caller is rejected on time with WorkerTimeoutError. */
export const timeoutEnforcement: Scenario = async (ctx) => {
  const worker = ctx.queue(pool(16, 64));
  for (let wave = 0; wave < 3; wave++) {
    const tasks = Array.from({ length: 16 }, (_, i) => {
      const timeoutMs = 5 + ctx.rng.int(20);
      const ms = timeoutMs + 15 + ctx.rng.int(20);
      const cooperative = ctx.rng.next() < 0.5;
      if (!cooperative) ctx.count("signalIgnored");
      const deadline = performance.now() + timeoutMs;
      const callerSettled = gate();
      return timed(ctx, () =>
        worker.submit((signal) => outlive(ms, signal, cooperative, callerSettled.wait), {
          timeoutMs,
          name: `slow-${wave}-${i}`,
        }),
      ).then((o) => {
        callerSettled.open();
        const late = performance.now() - deadline;
        if (o.ok || !(o.error instanceof WorkerTimeoutError)) {
          ctx.violation(`timeoutEnforcement: task ${wave}-${i} was not rejected with WorkerTimeoutError`);
          return;
        }
        ctx.lateness.record(Math.max(0, late));
        if (late < -1)
          ctx.violation(`timeoutEnforcement: rejected ${(-late).toFixed(2)} ms before the deadline`);
        if (late > 5) ctx.observe("lateOver5ms");
      });
    });
    await Promise.all(tasks);
  }
};

/** Running (and some queued) tasks are cancelled by their callers mid-flight; a quarter ignore the signal. */
export const midFlightCancellation: Scenario = async (ctx) => {
  const worker = ctx.queue(pool(8, 128));
  const tasks = Array.from({ length: 64 }, (_, i) => {
    const caller = new AbortController();
    const cooperative = ctx.rng.next() < 0.75;
    const ms = 20 + ctx.rng.int(20);
    let taskSignal: AbortSignal | undefined;
    setTimeout(() => caller.abort(`cancel-${i}`), 1 + ctx.rng.int(10));
    const callerSettled = gate();
    return timed(ctx, () =>
      worker.submit(
        (signal) => {
          taskSignal = signal;
          return outlive(ms, signal, cooperative, callerSettled.wait);
        },
        { signal: caller.signal, name: `cancel-${i}` },
      ),
    ).then((o) => {
      callerSettled.open();
      if (o.ok || !(o.error instanceof WorkerCancelledError)) {
        ctx.violation(`midFlightCancellation: task ${i} was not rejected with WorkerCancelledError`);
        return;
      }
      if (taskSignal === undefined) ctx.observe("cancelledWhileQueued");
      else if (!taskSignal.aborted) ctx.violation(`midFlightCancellation: task ${i} signal did not fire`);
      else ctx.observe("cancelledWhileRunning");
    });
  });
  await Promise.all(tasks);
};

/** A third of the tasks throw (sync or async): each caller gets exactly its task's error; the rest complete. */
export const failurePropagation: Scenario = async (ctx) => {
  const worker = ctx.queue(pool(4, 256));
  const tasks = Array.from({ length: 120 }, (_, i) => {
    const kind = ctx.rng.int(3);
    const error = new Error(`failure ${i}`);
    const ms = ctx.rng.int(3);
    return timed(ctx, () =>
      worker.submit(
        (signal) => {
          if (kind === 0) throw error;
          return work(ms, signal, true).then(() => {
            if (kind === 1) throw error;
            return i;
          });
        },
        { name: `fail-${i}` },
      ),
    ).then((o) => {
      const expected = kind === 2 ? o.ok && o.value === i : !o.ok && o.error === error;
      if (!expected) ctx.violation(`failurePropagation: task ${i} (kind ${kind}) had the wrong outcome`);
      ctx.count(kind === 2 ? "expectedCompletions" : "expectedFailures");
    });
  });
  await Promise.all(tasks);
};

/**
 * Concurrency changes every millisecond under load (a fixed, seeded number of changes, some invalid
 * and refused); everything completes.
 */
export const rapidReconfiguration: Scenario = async (ctx) => {
  const worker = ctx.queue(pool(4, 1024));
  const guarded = activeGuard(ctx, "rapidReconfiguration", () => worker.settings.concurrency);
  const tasks = Array.from({ length: 400 }, (_, i) => {
    const ms = ctx.rng.int(3);
    return timed(ctx, () =>
      worker.submit((signal) => guarded(() => work(ms, signal, true)), { name: `reconf-${i}` }),
    ).then((o) => {
      if (!o.ok) ctx.violation(`rapidReconfiguration: task ${i} did not complete`);
    });
  });
  for (let step = 0; step < 80; step++) {
    if (ctx.rng.next() < 0.1) {
      const before = worker.settings;
      try {
        worker.reconfigure({ concurrency: 0 });
        ctx.violation("rapidReconfiguration: concurrency 0 was accepted");
      } catch (error) {
        if (error instanceof RangeError) ctx.count("invalidRefused");
        else ctx.violation(`rapidReconfiguration: concurrency 0 refused with ${String(error)}`);
      }
      if (worker.settings.concurrency !== before.concurrency)
        ctx.violation("rapidReconfiguration: refused change altered the config");
    } else {
      worker.reconfigure({ concurrency: 1 + ctx.rng.int(16) });
      ctx.count("reconfigurations");
    }
    await sleep(1);
  }
  await Promise.all(tasks);
};

/**
 * A burst larger than the slots plus the queue, submitted in one turn (exactly the excess is refused
 * with QueueFullError), then bursts of mixed tasks at jittered times: successes, failures, timeouts
 * (some ignoring their signal) and caller cancellations. Every task's outcome follows from its kind
 * (timed-out and cancelled tasks outlive their callers), so the counts depend only on the seed.
 */
export const jitterStorm: Scenario = async (ctx) => {
  const concurrency = 4 + ctx.rng.int(9);
  const capacity = 16;
  const worker = ctx.queue(pool(concurrency, capacity));
  const outcome = (o: { ok: true } | { ok: false; error: unknown }) =>
    o.ok ? "completed" : ((o.error as Error).name ?? "unknown");
  const overflow = Array.from({ length: concurrency + capacity + 1 + ctx.rng.int(16) }, (_, i) =>
    timed(ctx, () => worker.submit((signal) => work(1, signal, true), { name: `overflow-${i}` })).then(
      (o) => {
        const name = outcome(o);
        ctx.count(`overflow.${name}`);
        if (name !== "completed" && name !== "QueueFullError")
          ctx.violation(`jitterStorm: overflow task ended as ${name}`);
      },
    ),
  );
  await Promise.all(overflow);
  worker.reconfigure({ queueCapacity: 4096 });
  const tasks: Promise<void>[] = [];
  for (let burst = 0; burst < 20; burst++) {
    const size = ctx.rng.int(30);
    for (let i = 0; i < size; i++) {
      const kind = (["ok", "fail", "timeout", "cancel"] as const)[ctx.rng.int(4)] ?? "ok";
      const jitter = Math.max(0, ctx.rng.normal(3, 3));
      const cooperative = ctx.rng.next() < 0.7;
      const caller = new AbortController();
      const error = new Error(`storm ${burst}-${i}`);
      const timeoutMs = kind === "timeout" ? 2 + ctx.rng.int(8) : 10_000;
      const cancelAfterMs = kind === "cancel" ? ctx.rng.int(6) : 0;
      const ms =
        kind === "timeout"
          ? timeoutMs + 5 + jitter
          : kind === "cancel"
            ? cancelAfterMs + 10 + jitter
            : jitter;
      const cancelTimer = kind === "cancel" ? setTimeout(() => caller.abort(), cancelAfterMs) : undefined;
      const callerSettled = gate();
      tasks.push(
        timed(ctx, () =>
          worker.submit(
            (signal) =>
              (kind === "timeout" || kind === "cancel"
                ? outlive(ms, signal, cooperative, callerSettled.wait)
                : work(ms, signal, cooperative)
              ).then(() => {
                if (kind === "fail") throw error;
                return kind;
              }),
            { timeoutMs, signal: caller.signal, name: `storm-${burst}-${i}` },
          ),
        ).then((o) => {
          callerSettled.open();
          clearTimeout(cancelTimer);
          const name = !o.ok && o.error === error ? "failed" : outcome(o);
          ctx.count(name);
          const expected = {
            ok: "completed",
            fail: "failed",
            timeout: "WorkerTimeoutError",
            cancel: "WorkerCancelledError",
          }[kind];
          if (name !== expected) ctx.violation(`jitterStorm: ${kind} task ended as ${name}`);
        }),
      );
    }
    await sleep(ctx.rng.int(3));
  }
  await Promise.all(tasks);
};

/** The six RC1 soak scenarios in run order. */
export const workerScenarios = {
  concurrentLoad,
  timeoutEnforcement,
  midFlightCancellation,
  failurePropagation,
  rapidReconfiguration,
  jitterStorm,
} as const satisfies Record<string, Scenario>;
