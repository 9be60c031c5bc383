import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNatsServer, type TestNatsServer } from "../../test/nats-server.ts";
import { type ActorSoakOptions, runActorSoak } from "./actor-soak.ts";
import { PLANTED_HEAP_BYTES } from "./plants.ts";

let server: TestNatsServer;

beforeAll(async () => {
  server = await startNatsServer();
});

afterAll(async () => {
  await server?.stop();
});

const soak = (opts: Omit<ActorSoakOptions, "address" | "cycles"> & { cycles?: number }) =>
  runActorSoak({ cycles: 2, address: server.address, ...opts });

describe("runActorSoak (real nats-server)", () => {
  it("runs clean start/drain cycles, and the same seed gives the same outcome counts", async () => {
    const first = await soak({ seed: 7 });
    expect(first).toMatchObject({
      exitCodes: { "0": 2 },
      leakedTimers: 0,
      leakedUnrefTimers: 0,
      leakedHandles: {},
      unsettledHandlers: 0,
      cycleTimeouts: 0,
      violations: 0,
      failures: [],
      ok: true,
    });
    const o = first.outcomes;
    expect(o.cyclesDrained).toBe(2);
    expect(o.messagesSent).toBeGreaterThan(0);
    expect([o.messagesHandled, o.tasksCompleted, o.localItems]).toEqual([
      o.messagesSent,
      o.messagesSent,
      o.messagesSent,
    ]);
    expect([o.settingsChanges, o.settingsApplied]).toEqual([2, 2]);
    expect(first.timing.heartbeats).toBeGreaterThanOrEqual(4);
    expect(o.handledMetricPoints).toBe(o.messagesSent);

    const again = await soak({ seed: 7 });
    expect(again.ok).toBe(true);
    expect(again.outcomes).toEqual(first.outcomes);
  });

  it("a timer the actor leaves running fails the run", async () => {
    const report = await soak({ seed: 1, plant: "timer" });
    expect(report).toMatchObject({ leakedTimers: 2, leakedUnrefTimers: 0, ok: false });
    expect(report.failures).toEqual(["leakedTimers: 2"]);
  });

  it("an unref'd timer the actor leaves running fails the run", async () => {
    const report = await soak({ seed: 1, plant: "unref-timer" });
    expect(report).toMatchObject({ leakedTimers: 0, leakedUnrefTimers: 2, ok: false });
    expect(report.failures).toEqual(["leakedUnrefTimers: 2"]);
  });

  it("heap the actor retains across cycles fails the run when growth passes the bound", async () => {
    const report = await soak({ seed: 1, plant: "heap" });
    expect(report.heap?.growthBytes).toBeGreaterThan(PLANTED_HEAP_BYTES * 0.9);
    expect(report.heap?.exceeded).toBe(true);
    expect(report.failures).toEqual([expect.stringMatching(/^heap grew by \d+ bytes/)]);
    expect(report.ok).toBe(false);
  });

  it("a handler that never settles is reported, with the cycle timeout and the cut-off drain", async () => {
    const report = await soak({ seed: 1, plant: "unsettled", cycleTimeoutMs: 600 });
    expect(report).toMatchObject({
      unsettledHandlers: 2,
      cycleTimeouts: 2,
      exitCodes: { "4": 2 },
      ok: false,
    });
    expect(report.violationSamples[0]).toMatch(/^cycle 0: load not done within 600 ms: \d+\/\d+ handled/);
  });
});
