import { describe, expect, it } from "vitest";
import { runWorkerSoak } from "./worker-soak.ts";

describe("runWorkerSoak", () => {
  it("runs all six scenarios once with no leaks and no broken expectations", async () => {
    const report = await runWorkerSoak({ iterations: 1, seed: 3 });
    expect(Object.keys(report.scenarios)).toEqual([
      "concurrentLoad",
      "timeoutEnforcement",
      "midFlightCancellation",
      "failurePropagation",
      "rapidReconfiguration",
      "jitterStorm",
    ]);
    for (const [name, s] of Object.entries(report.scenarios)) {
      expect(s.violationSamples, name).toEqual([]);
      expect(s.submitted, name).toBeGreaterThan(0);
      expect(s.submitted, name).toBe(s.completed + s.failed + s.cancelled + s.timedOut + s.rejected);
    }
    expect(report.scenarios.timeoutEnforcement.timedOut).toBe(48);
    expect(report.scenarios.midFlightCancellation.cancelled).toBe(64);
    expect(report).toMatchObject({ leakedTasks: 0, leakedTimers: 0, violations: 0, ok: true });
  });
});
