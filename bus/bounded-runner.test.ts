import { describe, expect, it } from "vitest";
import { BoundedRunner, type RunnerSignals } from "./bounded-runner.ts";

function recorder(): RunnerSignals & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    onBehind: (p) => log.push(`behind ${p}`),
    onDropped: (p) => log.push(`dropped ${p}`),
    onCaughtUp: (p) => log.push(`caught-up ${p}`),
    onRunError: (e) => log.push(`error ${(e as Error).message}`),
    onDiscarded: (n) => log.push(`discarded ${n}`),
  };
}

describe("BoundedRunner", () => {
  it("runs synchronous handlers in order without queueing or deep recursion", () => {
    const seen: number[] = [];
    const r = new BoundedRunner<number>((n) => void seen.push(n), 1, 10, recorder());
    for (let i = 0; i < 50_000; i++) r.push(i);
    expect(seen.length).toBe(50_000);
    expect(r.pending).toBe(0);
  });

  it("keeps at most maxInFlight running, queues FIFO, drops beyond maxPending and reports it", async () => {
    const signals = recorder();
    const gates: (() => void)[] = [];
    const started: number[] = [];
    const r = new BoundedRunner<number>(
      (n) => {
        started.push(n);
        return new Promise<void>((res) => gates.push(res));
      },
      2,
      4,
      signals,
    );
    for (let i = 0; i < 8; i++) r.push(i);
    expect(started).toEqual([0, 1]);
    expect(r.pending).toBe(4);
    expect(signals.log).toEqual(["behind 2", "dropped 4", "dropped 4"]);
    while (started.length < 6 || gates.length > 0) {
      gates.shift()?.();
      await Promise.resolve();
      await Promise.resolve();
    }
    await r.idle();
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(signals.log).toContain("caught-up 1");
  });

  it("reports a handler that throws or rejects and keeps going", async () => {
    const signals = recorder();
    const r = new BoundedRunner<number>(
      (n) => {
        if (n === 0) throw new Error("sync");
        if (n === 1) return Promise.reject(new Error("async"));
        return undefined;
      },
      1,
      10,
      signals,
    );
    r.push(0);
    r.push(1);
    r.push(2);
    await r.idle();
    expect(signals.log).toEqual(["error sync", "error async"]);
  });

  it("discards the queue, reports its count, keeps running handlers and reports later pushes", async () => {
    const signals = recorder();
    const gates: (() => void)[] = [];
    const started: number[] = [];
    const r = new BoundedRunner<number>(
      (n) => {
        started.push(n);
        return new Promise<void>((res) => gates.push(res));
      },
      1,
      10,
      signals,
    );
    for (let i = 0; i < 4; i++) r.push(i);
    expect(r.discard()).toBe(3);
    expect(r.pending).toBe(0);
    expect(r.running).toBe(1);
    r.push(9);
    expect(signals.log).toEqual(["discarded 3", "discarded 1"]);
    const idle = r.idle();
    gates.shift()?.();
    await idle;
    expect(started).toEqual([0]);
    expect(r.running).toBe(0);
  });
});
