import { describe, expect, it } from "vitest";
import type { LoopBenchReport } from "./loop-bench.ts";
import { tolariaReport } from "./tolaria-bench.ts";
import type { RestoreSection } from "./tolaria-restore.ts";
import {
  againstGoal,
  boundarySection,
  heartbeatLateness,
  latencyFigure,
  latenessSection,
  TOLARIA_GOALS,
} from "./tolaria-summary.ts";

const loop = (whole: { p50: number; p95: number; n: number } | null): LoopBenchReport => ({
  bench: "loop",
  job: "spirals-growth",
  runId: "run-1",
  outcome: "completed",
  commandWallMs: 9_000,
  runWallMs: 8_000,
  epochs: 12,
  epochsPerSecond: 3,
  accuracy: { first: 0.5, last: 0.9 },
  parameterCount: null,
  seeds: [],
  boundary: {
    stateAssemblyMs: { p50: 0.4, p95: 0.9, n: 12 },
    decisionRoundTripMs: { p50: 1.1, p95: 2.2, n: 12 },
    directiveApplyMs: null,
    epochBoundaryMs: whole,
  },
});

describe("esper bench tolaria's summaries", () => {
  it("takes nearest-rank p50/p95 and the max of samples given in any order", () => {
    expect(latencyFigure("x", [4, 1, 5, 2, 3])).toEqual({ p50: 3, p95: 5, max: 5, n: 5 });
    expect(() => latencyFigure("fast restores", [])).toThrow("fast restores: no samples");
  });

  it("meets a goal when the p95 is at most the goal", () => {
    const f = latencyFigure("x", [1, 2, 5]);
    expect(againstGoal(f, 5)).toMatchObject({ goalP95Ms: 5, met: true });
    expect(againstGoal(f, 4.99)).toMatchObject({ goalP95Ms: 4.99, met: false });
  });

  it("measures heartbeat lateness as the sender's interval minus the configured one", () => {
    expect(heartbeatLateness([1_000, 2_000, 3_130, 4_120], 1_000)).toEqual([0, 130, -10]);
    expect(() => heartbeatLateness([1_000], 1_000)).toThrow("needs 2 heartbeats, got 1");
  });

  it("says the 100 ms threshold is exceeded when the latest ack or heartbeat passes it", () => {
    const beats = [0, 1_000, 2_000];
    expect(latenessSection("j", [10, 100], beats, 1_000).exceeded).toBe(false);
    expect(latenessSection("j", [10, 101], beats, 1_000).exceeded).toBe(true);
    expect(latenessSection("j", [10], [0, 1_000, 2_101], 1_000).exceeded).toBe(true);
    expect(latenessSection("j", [10], beats, 1_000)).toEqual({
      job: "j",
      heartbeatIntervalMs: 1_000,
      thresholdMs: 100,
      commandAckMs: { p50: 10, p95: 10, max: 10, n: 1 },
      heartbeatLateMs: { p50: 0, p95: 0, max: 0, n: 2 },
      exceeded: false,
    });
  });

  it("holds the whole boundary's p95 against 5 ms and refuses a run without it", () => {
    expect(boundarySection(loop({ p50: 2, p95: 5, n: 12 }))).toEqual({
      job: "spirals-growth",
      runId: "run-1",
      epochs: 12,
      assemblyMs: { p50: 0.4, p95: 0.9, n: 12 },
      tamiyoRoundTripMs: { p50: 1.1, p95: 2.2, n: 12 },
      directiveApplicationMs: null,
      wholeMs: { p50: 2, p95: 5, n: 12 },
      goalP95Ms: 5,
      met: true,
    });
    expect(boundarySection(loop({ p50: 2, p95: 5.01, n: 12 })).met).toBe(false);
    expect(() => boundarySection(loop(null))).toThrow("run run-1 reported no tolaria.epoch.boundary_ms");
  });

  it("prints the three sections with the goals", () => {
    const restore: RestoreSection = {
      job: "fashion-mnist-1m",
      parameterCount: 1_068_810,
      snapshotBytes: 12_825_720,
      checkpointBytes: 12_826_540,
      fastMs: againstGoal(latencyFigure("f", [3]), TOLARIA_GOALS.fastRestoreP95Ms),
      fullMs: againstGoal(latencyFigure("f", [80]), TOLARIA_GOALS.fullRestoreP95Ms),
    };
    const report = tolariaReport(
      boundarySection(loop({ p50: 2, p95: 3, n: 12 })),
      restore,
      latenessSection("j", [10], [0, 1_000], 1_000),
    );
    expect(Object.keys(report)).toEqual(["bench", "goals", "boundary", "restore", "lateness"]);
    expect(report.goals).toEqual({
      boundaryP95Ms: 5,
      fastRestoreP95Ms: 5,
      fullRestoreP95Ms: 500,
      latenessThresholdMs: 100,
    });
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });
});
