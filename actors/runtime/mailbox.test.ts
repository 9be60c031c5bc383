import { describe, expect, it } from "vitest";
import { Mailbox, MailboxClosedError, type MailboxOptions } from "./mailbox.ts";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const tick = () => new Promise((r) => setImmediate(r));

function deferredVoid(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function failOnError(error: unknown): never {
  throw error;
}

/** A number mailbox named `test` with capacity 10 whose handler failures fail the test, unless overridden. */
function mailbox(
  opts: Pick<MailboxOptions<number>, "mode" | "handler"> & Partial<MailboxOptions<number>>,
): Mailbox<number> {
  return new Mailbox<number>({ name: "test", capacity: 10, onError: failOnError, ...opts });
}

/** Wraps handler bodies and records the most running at once in `peak`. */
function peakTracker() {
  let active = 0;
  const t = {
    peak: 0,
    async track(body: () => Promise<void>): Promise<void> {
      active++;
      t.peak = Math.max(t.peak, active);
      try {
        await body();
      } finally {
        active--;
      }
    },
  };
  return t;
}

describe("Mailbox", () => {
  it("ordered mode handles one message at a time in arrival order", async () => {
    const log: string[] = [];
    const running = peakTracker();
    const box = mailbox({
      mode: "ordered",
      concurrency: 8,
      handler: (n) =>
        running.track(async () => {
          log.push(`start ${n}`);
          await sleep(n % 2 === 0 ? 3 : 0);
          log.push(`end ${n}`);
        }),
    });
    for (let i = 0; i < 6; i++) await box.push(i);
    await box.whenIdle();
    expect(running.peak).toBe(1);
    expect(log).toEqual([0, 1, 2, 3, 4, 5].flatMap((i) => [`start ${i}`, `end ${i}`]));
    expect(box.metrics()).toMatchObject({ accepted: 6, handled: 6, failed: 0, depth: 0, inFlight: 0 });
    expect(box.metrics().latency.count).toBe(6);
  });

  it("concurrent mode runs at most `concurrency` handlers", async () => {
    const running = peakTracker();
    const box = mailbox({ mode: "concurrent", concurrency: 3, handler: () => running.track(() => sleep(2)) });
    for (let i = 0; i < 10; i++) await box.push(i);
    expect(box.metrics().inFlight).toBe(3);
    await box.whenIdle();
    expect(running.peak).toBe(3);
    expect(box.metrics().handled).toBe(10);
  });

  it("push waits for room when the mailbox is full (backpressure), FIFO among pushers", async () => {
    const gates: (() => void)[] = [];
    const handled: number[] = [];
    const box = mailbox({
      mode: "ordered",
      capacity: 2,
      handler: (n) =>
        new Promise<void>((resolve) => {
          gates.push(() => {
            handled.push(n);
            resolve();
          });
        }),
    });
    await box.push(0); // running
    await box.push(1); // queued
    await box.push(2); // queued (full)
    let third = false;
    let fourth = false;
    const p3 = box.push(3).then(() => {
      third = true;
    });
    const p4 = box.push(4).then(() => {
      fourth = true;
    });
    await tick();
    expect([third, fourth]).toEqual([false, false]);
    expect(box.metrics()).toMatchObject({ depth: 2, waitingPushers: 2, inFlight: 1 });
    gates.shift()?.();
    await tick();
    expect([third, fourth]).toEqual([true, false]);
    while (handled.length < 5) {
      gates.shift()?.();
      await tick();
    }
    await Promise.all([p3, p4]);
    expect(handled).toEqual([0, 1, 2, 3, 4]);
  });

  it("counts and reports handler failures and keeps going", async () => {
    const errors: [unknown, number][] = [];
    const box = mailbox({
      mode: "ordered",
      onError: (e, m) => errors.push([e, m]),
      handler: async (n) => {
        if (n === 1) throw new Error("bad message");
      },
    });
    for (const n of [0, 1, 2]) await box.push(n);
    await box.whenIdle();
    expect(errors).toHaveLength(1);
    expect(errors[0]?.[1]).toBe(1);
    expect(box.metrics()).toMatchObject({ handled: 2, failed: 1 });
  });

  it("drain finishes queued work within the grace and refuses new pushes", async () => {
    const handled: number[] = [];
    const box = mailbox({
      mode: "ordered",
      handler: async (n) => {
        await sleep(2);
        handled.push(n);
      },
    });
    for (const n of [0, 1, 2]) await box.push(n);
    const report = await box.drain(5_000);
    expect(handled).toEqual([0, 1, 2]);
    expect(report).toEqual({
      handledDuringDrain: 3,
      abandonedQueued: 0,
      abortedInFlight: 0,
      refusedPushers: 0,
    });
    await expect(box.push(9)).rejects.toBeInstanceOf(MailboxClosedError);
  });

  it("drain aborts handlers still running at the grace deadline and abandons the queue", async () => {
    let aborted = false;
    const box = mailbox({
      mode: "ordered",
      capacity: 1,
      onError: () => {},
      handler: (_n, signal) =>
        new Promise<void>((_, reject) => {
          signal.addEventListener("abort", () => {
            aborted = true;
            reject(signal.reason);
          });
        }),
    });
    await box.push(0);
    await box.push(1);
    const waiting = box.push(2).catch((e: unknown) => e);
    const report = await box.drain(20);
    expect(await waiting).toBeInstanceOf(MailboxClosedError);
    expect(report).toEqual({
      handledDuringDrain: 0,
      abandonedQueued: 1,
      abortedInFlight: 1,
      refusedPushers: 1,
    });
    await box.whenIdle();
    expect(aborted).toBe(true);
    expect(box.metrics()).toMatchObject({ failed: 0, abortedAtDrain: 1, inFlight: 0, depth: 0 });
  });

  it("offer queues while there is room and otherwise drops and counts, never waiting", async () => {
    const gate = deferredVoid();
    const seen: number[] = [];
    const box = new Mailbox<number>({
      name: "offers",
      mode: "ordered",
      capacity: 2,
      onError: () => {},
      handler: async (n) => {
        await gate.promise;
        seen.push(n);
      },
    });
    // 0 runs, 1 and 2 wait; 3 and 4 find the mailbox full.
    expect([0, 1, 2, 3, 4].map((n) => box.offer(n))).toEqual([true, true, true, false, false]);
    expect(box.tryHandle(5)).toBeUndefined();
    expect(box.metrics()).toMatchObject({ accepted: 3, dropped: 3, depth: 2, inFlight: 1 });
    gate.resolve();
    await box.whenIdle();
    expect(seen).toEqual([0, 1, 2]);
    const report = await box.drain(10);
    expect(report.abandonedQueued).toBe(0);
    expect(box.offer(6)).toBe(false);
    expect(box.metrics()).toMatchObject({ handled: 3, dropped: 3, droppedClosed: 1 });
  });

  it("counts every offered message once: handled + failed + dropped + cut off at drain", async () => {
    const box = new Mailbox<number>({
      name: "ledger",
      mode: "concurrent",
      concurrency: 2,
      capacity: 3,
      onError: () => {},
      handler: (n, signal) =>
        new Promise<void>((resolve, reject) => {
          if (n % 7 === 0) reject(new Error("bad"));
          else if (n < 10) setTimeout(resolve, 1);
          signal.addEventListener("abort", () => reject(signal.reason));
        }),
    });
    let sent = 0;
    for (let n = 0; n < 40; n++) {
      box.offer(n);
      sent++;
      if (n % 4 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    const report = await box.drain(5);
    box.offer(99);
    sent++;
    await new Promise((r) => setTimeout(r, 5));
    const m = box.metrics();
    expect(
      m.handled + m.failed + m.dropped + m.droppedClosed + report.abandonedQueued + report.abortedInFlight,
    ).toBe(sent);
    expect(m.abortedAtDrain).toBe(report.abortedInFlight);
    expect(report.abortedInFlight).toBeGreaterThan(0);
  });

  it("reconfigure raises concurrency live and rejects invalid limits", async () => {
    const gates: (() => void)[] = [];
    const box = mailbox({
      mode: "concurrent",
      concurrency: 1,
      handler: () => new Promise<void>((resolve) => gates.push(resolve)),
    });
    for (let i = 0; i < 4; i++) await box.push(i);
    expect(box.metrics().inFlight).toBe(1);
    box.reconfigure({ concurrency: 3 });
    expect(box.metrics().inFlight).toBe(3);
    expect(() => box.reconfigure({ capacity: 0 })).toThrow(/capacity must be an integer >= 1/);
    while (box.metrics().handled < 4) {
      gates.shift()?.();
      await tick();
    }
  });
});

describe("Mailbox.handle", () => {
  it("resolves when the message was handled and rejects with the handler's error (not via onError)", async () => {
    const onError: unknown[] = [];
    const box = mailbox({
      mode: "ordered",
      capacity: 4,
      onError: (e) => onError.push(e),
      handler: async (n) => {
        await sleep(1);
        if (n < 0) throw new Error(`negative ${n}`);
      },
    });
    await expect(box.handle(1)).resolves.toBeUndefined();
    await expect(box.handle(-1)).rejects.toThrow("negative -1");
    expect(onError).toEqual([]);
    expect(box.metrics()).toMatchObject({ handled: 1, failed: 1 });
  });
});
