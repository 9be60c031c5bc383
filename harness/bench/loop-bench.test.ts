import { describe, expect, it } from "vitest";
import { BOUNDARY_METRICS } from "../../actors/tolaria/boundary-metrics.ts";
import { RunSummary } from "../../actors/weatherlight/summary-schema.ts";
import { MessagePriority, TelemetryLevel } from "../../contracts/enums.ts";
import type { TelemetryPacket } from "../../contracts/messages/telemetry.ts";
import { loopReport } from "./loop-bench.ts";

const epoch = (n: number, atMs: number, accuracy: number) => ({
  epoch: n,
  globalStep: n * 10,
  trainingLoss: 1,
  validationLoss: 1,
  validationAccuracy: accuracy,
  parameterCount: 100,
  seeds: [],
  atMs,
});

const summary = RunSummary.parse({
  format: "esper.run-summary.v1",
  runId: "run-1",
  outcome: "completed",
  outcomeReason: "job complete",
  startedAtMs: 1_000,
  endedAtMs: 9_000,
  wallTimeMs: 8_000,
  parameterCount: { first: 100, last: 400 },
  epochs: [epoch(0, 2_000, 0.5), epoch(1, 2_500, 0.6), epoch(2, 3_000, 0.9)],
  seeds: [],
  commands: {
    issued: 0,
    applied: 0,
    rejected: 0,
    unresolved: 0,
    list: [],
    rejections: [],
    unknownReferenced: [],
  },
  decisions: { command: 0, noAction: {} },
  timeouts: { count: 0, list: [] },
  messages: {
    statePackets: 3,
    seedStates: 0,
    seedDirectives: 0,
    seedReports: 0,
    commands: 0,
    decisions: 0,
    telemetryPackets: 1,
    rejected: 0,
  },
});

const packet = (metrics: { name: string; value: number }[]): TelemetryPacket => ({
  packetId: "p1",
  timestampMs: 2_000,
  sourceSubsystem: "tolaria",
  level: TelemetryLevel.INFO,
  priority: MessagePriority.NORMAL,
  metrics,
  events: [],
  spans: [],
});

describe("loopReport", () => {
  it("gives epochs/s between the first and last packet and p50/p95 of each boundary metric", () => {
    const rtt = [1, 2, 3, 4, 100].map((value) => ({ name: BOUNDARY_METRICS.decisionRoundTrip, value }));
    const report = loopReport("spirals-growth", 12_345.6, summary, [
      packet([...rtt, { name: BOUNDARY_METRICS.stateAssembly, value: 0.5 }, { name: "other", value: 9 }]),
    ]);
    expect(report.epochsPerSecond).toBe(2);
    expect(report.commandWallMs).toBe(12_346);
    expect(report.accuracy).toEqual({ first: 0.5, last: 0.9 });
    expect(report.boundary.decisionRoundTripMs).toEqual({ p50: 3, p95: 100, n: 5 });
    expect(report.boundary.stateAssemblyMs).toEqual({ p50: 0.5, p95: 0.5, n: 1 });
    expect(report.boundary.directiveApplyMs).toBeNull();
  });
});
