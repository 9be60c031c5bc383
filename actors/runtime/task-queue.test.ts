import { describe, expect, it } from "vitest";
import { TaskQueue, type TaskQueueConfig } from "./task-queue.ts";
import {
  QueueFullError,
  WorkerCancelledError,
  WorkerShutdownError,
  WorkerTimeoutError,
} from "./worker-errors.ts";

const base: TaskQueueConfig = {
  concurrency: 2,
  queueCapacity: 100,
  defaultTimeoutMs: 5_000,
  shutdownGraceMs: 1_000,
};

function deferred<T = void>() {
  let resolve: (v: T) => void = () => {};
  let reject: (e: unknown) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A task that resolves when its signal fires (cooperative). */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) =>
    signal.addEventListener("abort", () => reject(signal.reason), { once: true }),
  );
}

const tick = () => new Promise((r) => setImmediate(r));

describe("TaskQueue", () => {
  it("never runs more tasks at once than its concurrency, and starts them in FIFO order", async () => {
    const worker = new TaskQueue({ ...base, concurrency: 3 });
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    const tasks = Array.from({ length: 12 }, (_, i) =>
      worker.submit(async () => {
        order.push(i);
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 2));
        active--;
        return i * 2;
      }),
    );
    expect(worker.metrics().inFlight).toBe(3);
    expect(worker.metrics().queueDepth).toBe(9);
    expect(await Promise.all(tasks)).toEqual(Array.from({ length: 12 }, (_, i) => i * 2));
    expect(peak).toBe(3);
    expect(order).toEqual(Array.from({ length: 12 }, (_, i) => i));
    const m = worker.metrics();
    expect(m).toMatchObject({
      submitted: 12,
      started: 12,
      completed: 12,
      inFlight: 0,
      queueDepth: 0,
      zombies: 0,
    });
    expect(m.latency.count).toBe(12);
  });

  it("rejects the caller on time when the task ignores its signal, and keeps the slot until the task settles", async () => {
    const worker = new TaskQueue({ ...base, concurrency: 1 });
    for (let i = 0; i < 5; i++) {
      const release = deferred();
      let seen: AbortSignal | undefined;
      const p = worker.submit(
        (signal) => {
          seen = signal;
          return release.promise;
        },
        { timeoutMs: 20, name: "stubborn" },
      );
      const error = await p.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WorkerTimeoutError);
      expect(error).toMatchObject({ taskName: "stubborn", timeoutMs: 20, phase: "running" });
      expect(seen?.aborted).toBe(true);
      expect(seen?.reason).toBe(error);
      // The stubborn task still holds the only slot: a second task waits.
      let secondStarted = false;
      const second = worker.submit(async () => {
        secondStarted = true;
      });
      await tick();
      expect(secondStarted).toBe(false);
      expect(worker.metrics()).toMatchObject({ inFlight: 1, zombies: 1, queueDepth: 1 });
      release.resolve();
      await second;
      expect(secondStarted).toBe(true);
      expect(worker.metrics()).toMatchObject({ inFlight: 0, zombies: 0 });
    }
    expect(worker.metrics().timedOut).toBe(5);
  });

  it("aborts a cooperative task on timeout and frees its slot", async () => {
    const worker = new TaskQueue(base);
    let reason: unknown;
    const error = await worker
      .submit(
        (signal) => {
          signal.addEventListener("abort", () => {
            reason = signal.reason;
          });
          return untilAborted(signal);
        },
        { timeoutMs: 10 },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerTimeoutError);
    expect(reason).toBe(error);
    await worker.whenIdle();
    expect(worker.metrics()).toMatchObject({ timedOut: 1, failed: 0, inFlight: 0, zombies: 0 });
  });

  it("times out a task still waiting in the queue without ever starting it", async () => {
    const worker = new TaskQueue({ ...base, concurrency: 1 });
    const blocker = deferred();
    const first = worker.submit(() => blocker.promise);
    let started = false;
    const error = await worker
      .submit(
        async () => {
          started = true;
        },
        { timeoutMs: 10, name: "queued" },
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "WorkerTimeoutError", phase: "queued" });
    expect(worker.metrics().queueDepth).toBe(0);
    blocker.resolve();
    await first;
    await worker.whenIdle();
    expect(started).toBe(false);
  });

  it("cancels a running task mid-flight through the caller's signal", async () => {
    const worker = new TaskQueue(base);
    const caller = new AbortController();
    let taskSignal: AbortSignal | undefined;
    const p = worker.submit(
      (signal) => {
        taskSignal = signal;
        return untilAborted(signal);
      },
      { signal: caller.signal, name: "mid" },
    );
    await tick();
    caller.abort("user stop");
    const error = await p.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerCancelledError);
    expect(error).toMatchObject({ taskName: "mid", cause: "user stop" });
    expect(taskSignal?.aborted).toBe(true);
    await worker.whenIdle();
    expect(worker.metrics()).toMatchObject({ cancelled: 1, inFlight: 0, zombies: 0 });
  });

  it("drops a cancelled queued task and refuses an already-aborted signal", async () => {
    const worker = new TaskQueue({ ...base, concurrency: 1 });
    const blocker = deferred();
    const first = worker.submit(() => blocker.promise);
    const caller = new AbortController();
    let started = false;
    const queued = worker.submit(
      async () => {
        started = true;
      },
      { signal: caller.signal },
    );
    caller.abort();
    await expect(queued).rejects.toBeInstanceOf(WorkerCancelledError);
    expect(worker.metrics().queueDepth).toBe(0);
    await expect(worker.submit(async () => 1, { signal: caller.signal })).rejects.toBeInstanceOf(
      WorkerCancelledError,
    );
    blocker.resolve();
    await first;
    expect(started).toBe(false);
  });

  it("propagates task failures (sync and async) to the caller without stalling the worker", async () => {
    const worker = new TaskQueue({ ...base, concurrency: 1 });
    const boom = new Error("boom");
    const results = await Promise.allSettled([
      worker.submit(async () => {
        throw boom;
      }),
      worker.submit(() => {
        throw new TypeError("sync");
      }),
      worker.submit(async () => "after"),
    ]);
    expect(results[0]).toEqual({ status: "rejected", reason: boom });
    expect(results[1]).toMatchObject({ status: "rejected", reason: { name: "TypeError", message: "sync" } });
    expect(results[2]).toEqual({ status: "fulfilled", value: "after" });
    expect(worker.metrics()).toMatchObject({ failed: 2, completed: 1, inFlight: 0 });
  });

  it("refuses a submission when the queue is full", async () => {
    const worker = new TaskQueue({ ...base, concurrency: 1, queueCapacity: 2 });
    const blocker = deferred();
    const accepted = [0, 1, 2].map(() => worker.submit(() => blocker.promise));
    const error = await worker.submit(async () => 0, { name: "extra" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueFullError);
    expect(error).toMatchObject({ taskName: "extra", queueCapacity: 2 });
    expect(worker.metrics()).toMatchObject({ rejected: 1, queueDepth: 2, inFlight: 1 });
    blocker.resolve();
    await Promise.all(accepted);
  });

  it("applies a new concurrency live and refuses an invalid configuration", async () => {
    const worker = new TaskQueue({ ...base, concurrency: 1 });
    const blocker = deferred();
    const tasks = Array.from({ length: 4 }, () => worker.submit(() => blocker.promise));
    expect(worker.metrics().inFlight).toBe(1);
    worker.reconfigure({ concurrency: 3 });
    expect(worker.metrics()).toMatchObject({ inFlight: 3, queueDepth: 1, concurrency: 3 });
    expect(() => worker.reconfigure({ concurrency: 0 })).toThrow(/concurrency must be an integer >= 1/);
    expect(worker.settings.concurrency).toBe(3);
    worker.reconfigure({ concurrency: 1 });
    blocker.resolve();
    await Promise.all(tasks);
    expect(worker.metrics().completed).toBe(4);
  });

  it("shutdown cancels queued tasks, waits for running ones, aborts those left at the grace deadline", async () => {
    const worker = new TaskQueue({ ...base, concurrency: 2 });
    const quick = deferred<string>();
    const stubborn = deferred();
    const p1 = worker.submit(() => quick.promise, { name: "quick" });
    const p2 = worker.submit(() => stubborn.promise, { name: "stubborn" });
    const p3 = worker.submit(async () => "never", { name: "queued" });
    const done = worker.shutdown(50);
    await expect(p3).rejects.toBeInstanceOf(WorkerShutdownError);
    await expect(worker.submit(async () => 1)).rejects.toBeInstanceOf(WorkerShutdownError);
    quick.resolve("ok");
    await expect(p1).resolves.toBe("ok");
    const report = await done;
    expect(report).toEqual({ cancelledQueued: 1, runningAtStart: 2, abortedAtGrace: ["stubborn"] });
    await expect(p2).rejects.toBeInstanceOf(WorkerShutdownError);
    expect(worker.metrics()).toMatchObject({ inFlight: 1, zombies: 1 });
    stubborn.resolve();
    await worker.whenIdle();
    expect(worker.metrics()).toMatchObject({
      inFlight: 0,
      zombies: 0,
      completed: 1,
      cancelled: 2,
      rejected: 1,
    });
    expect(worker.shutdown()).toBe(done);
  });

  it("shutdown returns as soon as running tasks finish within the grace", async () => {
    const worker = new TaskQueue(base);
    const p = worker.submit(() => new Promise((r) => setTimeout(() => r("done"), 5)));
    const t0 = performance.now();
    const report = await worker.shutdown(10_000);
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(report).toEqual({ cancelledQueued: 0, runningAtStart: 1, abortedAtGrace: [] });
    await expect(p).resolves.toBe("done");
  });

  it("rejects an invalid timeout without counting a submission", async () => {
    const worker = new TaskQueue(base);
    await expect(worker.submit(async () => 1, { timeoutMs: 0 })).rejects.toThrow(/timeoutMs must be/);
    expect(worker.metrics().submitted).toBe(0);
  });
});
