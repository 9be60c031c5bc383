import { describe, expect, it } from "vitest";
import type { Heartbeat } from "../../contracts/messages/runtime.ts";
import { Heartbeater } from "./heartbeat.ts";

const hb = (n: number): Heartbeat => ({
  actor: "urza",
  instanceId: "i-1",
  pid: process.pid,
  state: "running",
  uptimeMs: n,
  timestampMs: Date.now(),
  mailboxDepths: {},
});

describe("Heartbeater", () => {
  it("beats at start, then on its interval, which can change live; publish errors are reported", async () => {
    const sent: Heartbeat[] = [];
    const errors: unknown[] = [];
    let n = 0;
    let fail = false;
    const h = new Heartbeater({
      intervalMs: 10_000,
      build: () => hb(n++),
      publish: (b) => {
        if (fail) throw new Error("closed");
        sent.push(b);
      },
      onError: (e) => errors.push(e),
    });
    h.start();
    expect(sent).toHaveLength(1);
    h.setInterval(5);
    await new Promise((r) => setTimeout(r, 60));
    expect(sent.length).toBeGreaterThan(3);
    fail = true;
    h.beat();
    expect(errors).toHaveLength(1);
    h.stop();
    const count = h.count;
    await new Promise((r) => setTimeout(r, 20));
    expect(h.count).toBe(count);
    expect(() => h.setInterval(0)).toThrow(/integer >= 1/);
  });
});
