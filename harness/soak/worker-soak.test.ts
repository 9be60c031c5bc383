import { describe, expect, it } from "vitest";
import { PLANTED_HEAP_BYTES } from "./plants.ts";
import { runWorkerSoak, type WorkerSoakReport } from "./worker-soak.ts";

/** The parts of a report that depend only on the seed. */
function outcomes(report: WorkerSoakReport) {
  return Object.fromEntries(
    Object.entries(report.scenarios).map(([name, s]) => [
      name,
      {
        submitted: s.submitted,
        completed: s.completed,
        failed: s.failed,
        cancelled: s.cancelled,
        timedOut: s.timedOut,
        rejected: s.rejected,
        counters: s.counters,
      },
    ]),
  );
}

const FAST = { iterations: 2, seed: 5, only: ["failurePropagation"] } as const;

describe("runWorkerSoak", () => {
  it("runs all six scenarios clean, and the same seed gives the same outcome counts", async () => {
    const first = await runWorkerSoak({ iterations: 2, seed: 3 });
    expect(Object.keys(first.scenarios)).toEqual([
      "concurrentLoad",
      "timeoutEnforcement",
      "midFlightCancellation",
      "failurePropagation",
      "rapidReconfiguration",
      "jitterStorm",
    ]);
    for (const [name, s] of Object.entries(first.scenarios)) {
      expect(s.violationSamples, name).toEqual([]);
      expect(s.submitted, name).toBeGreaterThan(0);
      expect(s.submitted, name).toBe(s.completed + s.failed + s.cancelled + s.timedOut + s.rejected);
    }
    expect(first.scenarios.timeoutEnforcement.timedOut).toBe(96);
    expect(first.scenarios.midFlightCancellation.cancelled).toBe(128);
    expect(first.scenarios.jitterStorm.rejected).toBeGreaterThan(0);
    expect(first).toMatchObject({
      leakedTasks: 0,
      leakedTimers: 0,
      leakedUnrefTimers: 0,
      unsettledCallers: 0,
      scenarioTimeouts: 0,
      violations: 0,
      failures: [],
      ok: true,
    });
    expect(first.heap.exceeded).toBe(false);

    const again = await runWorkerSoak({ iterations: 2, seed: 3 });
    expect(again.ok).toBe(true);
    expect(outcomes(again)).toEqual(outcomes(first));
    const other = await runWorkerSoak({ iterations: 2, seed: 4, only: ["jitterStorm"] });
    expect(other.scenarios.jitterStorm.counters).not.toEqual(first.scenarios.jitterStorm.counters);
  });

  it("a planted ref'd timer fails the run as a leaked timer", async () => {
    const report = await runWorkerSoak({ ...FAST, plant: "timer" });
    expect(report).toMatchObject({ plant: "timer", leakedTimers: 2, leakedUnrefTimers: 0, ok: false });
    expect(report.failures).toEqual(["leakedTimers: 2"]);
  });

  it("a planted unref'd timer fails the run as a leaked unref'd timer", async () => {
    const report = await runWorkerSoak({ ...FAST, plant: "unref-timer" });
    expect(report).toMatchObject({ leakedTimers: 0, leakedUnrefTimers: 2, ok: false });
    expect(report.failures).toEqual(["leakedUnrefTimers: 2"]);
  });

  it("planted retained heap fails the run when growth passes the bound", async () => {
    const report = await runWorkerSoak({ ...FAST, plant: "heap" });
    expect(report.heap.growthBytes).toBeGreaterThan(PLANTED_HEAP_BYTES * 0.9);
    expect(report.heap.exceeded).toBe(true);
    expect(report.ok).toBe(false);
    expect(report.failures).toEqual([expect.stringMatching(/^heap grew by \d+ bytes, above the 4194304/)]);
  });

  it("a planted caller that never settles is reported when the scenario times out", async () => {
    const report = await runWorkerSoak({ ...FAST, plant: "unsettled", scenarioTimeoutMs: 300 });
    const s = report.scenarios.failurePropagation;
    expect(s).toMatchObject({ unsettledCallers: 2, scenarioTimeouts: 2, leakedTasks: 2 });
    expect(s.violationSamples[0]).toBe("iteration 0: failurePropagation: did not finish within 300 ms");
    expect(report.ok).toBe(false);
  });

  it("refuses fewer than two iterations (heap growth needs two)", async () => {
    await expect(runWorkerSoak({ iterations: 1, seed: 1 })).rejects.toThrow(
      /iterations must be an integer >= 2/,
    );
  });
});
