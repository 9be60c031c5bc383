import { describe, expect, it } from "vitest";
import { FieldReport, FieldReportOutcome, type SystemStatePacket } from "../../contracts/index.ts";
import {
  fieldReportOf,
  LOSS_SPIKE,
  type ObservationWindow,
  openWindow,
  stepWindow,
  type WindowStep,
  windowDelta,
} from "./field-report-window.ts";
import { CULLED, packet, seedState, TRAINING } from "./testing/fixtures.ts";

const at = (epoch: number, loss: number, accuracy = 0.5, stage: number = TRAINING): SystemStatePacket => ({
  ...packet(epoch, loss, [seedState("s1", stage as typeof TRAINING)]),
  validationAccuracy: accuracy,
});

const command = { commandId: "cmd-1", seedId: "s1", blueprintId: "bp-1", policyVersion: "tamiyo-rules-v1" };

/** Opens a 3-epoch window at epoch 10 (loss 1.0, accuracy 0.5) and feeds `packets`; returns the last step. */
function run(
  packets: readonly SystemStatePacket[],
  latencyMs = 2,
): { window: ObservationWindow; step: WindowStep } {
  let window = openWindow(command, at(10, 1.0), 3, 1_000);
  let step: WindowStep = { kind: "unchanged" };
  for (const p of packets) {
    step = stepWindow(window, p, latencyMs);
    if (step.kind !== "unchanged") window = step.window;
  }
  return { window, step };
}

function outcomeOf(losses: readonly number[]): number {
  const { window, step } = run(losses.map((l, i) => at(11 + i, l)));
  if (step.kind !== "ended") throw new Error(`window did not end: ${step.kind}`);
  return fieldReportOf(window, step.end, 2_000).outcome;
}

describe("observation windows", () => {
  it("ends once an epoch at or past opened + N is seen, not before", () => {
    expect(run([at(11, 0.9), at(12, 0.8)]).step.kind).toBe("observed");
    expect(run([at(11, 0.9), at(12, 0.8), at(13, 0.7)]).step.kind).toBe("ended");
    expect(run([at(11, 0.9), at(15, 0.7)]).step.kind).toBe("ended");
  });

  it("a packet of the command's epoch changes nothing; a rollback within the window replaces the epochs undone", () => {
    expect(run([at(10, 5)]).step).toEqual({ kind: "unchanged" });
    const { window } = run([at(11, 0.9), at(12, 0.8), at(11, 0.95)]);
    expect(window.observations.map((o) => [o.epoch, o.loss])).toEqual([[11, 0.95]]);
  });

  it("outcome rules: SUCCESS on a lower loss, REGRESSION on a higher loss or a spike, NEUTRAL on no change", () => {
    expect(outcomeOf([0.9, 0.85, 0.8])).toBe(FieldReportOutcome.SUCCESS);
    expect(outcomeOf([0.95, 1.0, 1.01])).toBe(FieldReportOutcome.REGRESSION);
    expect(outcomeOf([0.7, 0.7 + LOSS_SPIKE + 0.01, 0.5])).toBe(FieldReportOutcome.REGRESSION);
    expect(outcomeOf([0.7, 0.7 + LOSS_SPIKE - 0.01, 0.5])).toBe(FieldReportOutcome.SUCCESS);
    expect(outcomeOf([0.95, 1.05, 1.0])).toBe(FieldReportOutcome.NEUTRAL);
  });

  it("ABORTED when the run rolls back before the command, or the seed is culled or gone", () => {
    const rollback = run([at(11, 0.9), at(9, 1.0)]);
    expect(rollback.step.kind === "ended" && rollback.step.end.aborted).toBe(
      "the run rolled back to epoch 9, before the command's epoch 10",
    );
    const culled = run([at(11, 0.9, 0.5, CULLED)]);
    expect(culled.step.kind === "ended" && culled.step.end.aborted).toBe("seed s1 is CULLED at epoch 11");
    const gone = stepWindow(run([]).window, { ...at(11, 0.9), seedStates: [] }, 1);
    expect(gone.kind === "ended" && gone.end.aborted).toBe("seed s1 is not in the packet of epoch 11");
    if (culled.step.kind !== "ended") throw new Error("not ended");
    expect(fieldReportOf(culled.window, culled.step.end, 1).outcome).toBe(FieldReportOutcome.ABORTED);
  });

  it("the typed delta: loss change from the baseline, per-epoch extremes, accuracy change, spikes, latency", () => {
    const { window } = run([at(11, 0.9, 0.55), at(12, 1.2, 0.52), at(13, 0.8, 0.6)], 4);
    const delta = windowDelta(window);
    expect(delta.lossDelta).toBeCloseTo(-0.2, 12);
    expect(delta.lossDeltaMin).toBeCloseTo(-0.4, 12);
    expect(delta.lossDeltaMax).toBeCloseTo(0.3, 12);
    expect(delta.accuracyDelta).toBeCloseTo(0.1, 12);
    expect(delta).toMatchObject({ epochs: 3, criticalEvents: 1, avgDecisionLatencyMs: 4 });
  });

  it("the report is a valid FieldReport with the command's natural report id", () => {
    const { window, step } = run([at(11, 0.9), at(12, 0.8), at(13, 0.7)]);
    if (step.kind !== "ended") throw new Error("not ended");
    const report = fieldReportOf(window, step.end, 2_000);
    expect(FieldReport.parse(report)).toEqual(report);
    expect(report).toMatchObject({
      reportId: "fr-cmd-1",
      commandId: "cmd-1",
      trainingRunId: "run-a",
      seedId: "s1",
      blueprintId: "bp-1",
      observationWindowEpochs: 3,
      issuedAt: 2_000,
      tamiyoPolicyVersion: "tamiyo-rules-v1",
    });
  });
});
