import { describe, expect, it } from "vitest";
import { SeedLifecycleStage as S } from "../../contracts/enums.ts";
import { SummaryInputError } from "./errors.ts";
import { RunSummaryBuilder, summaryEventIds } from "./run-summary.ts";
import {
  commandDecision,
  directive,
  germinateCommand,
  noActionDecision,
  RUN,
  seedReport,
  seedState,
  statePacket,
  telemetry,
} from "./testing/run-messages.ts";

const transition = (seedId: string, from: string, to: string, reason: string, runId = RUN) => ({
  eventId: summaryEventIds.seedTransition,
  attributes: { trainingRunId: runId, seedId, from, to, reason },
});
const end = { outcome: "completed" as const, reason: "tolaria finished 2 epochs", endedAtMs: 61_000 };

describe("RunSummaryBuilder", () => {
  it("records per-epoch loss, accuracy and parameter count, in epoch order, a redelivered epoch replacing its first", () => {
    const b = new RunSummaryBuilder(RUN, 1_000);
    b.observe(
      {
        type: "SystemStatePacket",
        message: statePacket(1, { validationLoss: 0.9, validationAccuracy: 0.5, parameterCount: 100 }),
      },
      2_000,
    );
    b.observe(
      {
        type: "SystemStatePacket",
        message: statePacket(0, { validationLoss: 1.2, validationAccuracy: 0.3, parameterCount: 100 }),
      },
      1_500,
    );
    b.observe(
      {
        type: "SystemStatePacket",
        message: statePacket(1, { validationLoss: 0.8, validationAccuracy: 0.6, parameterCount: 230 }),
      },
      2_100,
    );
    const s = b.finish(end);
    expect(s.epochs.map((e) => [e.epoch, e.validationLoss, e.validationAccuracy, e.parameterCount])).toEqual([
      [0, 1.2, 0.3, 100],
      [1, 0.8, 0.6, 230],
    ]);
    expect(s.parameterCount).toEqual({ first: 100, last: 230 });
    expect(s.messages.statePackets).toBe(3);
  });

  it("returns an epoch event for the progress output with the seeds' stages by name", () => {
    const b = new RunSummaryBuilder(RUN, 0);
    const events = b.observe(
      {
        type: "SystemStatePacket",
        message: statePacket(4, {
          validationLoss: 0.7,
          validationAccuracy: 0.61,
          parameterCount: 321,
          seeds: [seedState("s1", S.BLENDING, "bp-1"), seedState("s2", S.DORMANT)],
        }),
      },
      9,
    );
    expect(events).toEqual([
      expect.objectContaining({
        kind: "epoch",
        atMs: 9,
        epoch: 4,
        epochsTotal: 20,
        validationLoss: 0.7,
        validationAccuracy: 0.61,
        parameterCount: 321,
        seeds: [
          { seedId: "s1", stage: "BLENDING" },
          { seedId: "s2", stage: "DORMANT" },
        ],
      }),
    ]);
  });

  it("refuses a state packet without the parameter count, naming the field, and counts it", () => {
    const b = new RunSummaryBuilder(RUN, 0);
    const packet = statePacket(0, { validationLoss: 1, validationAccuracy: 0.1, parameterCount: undefined });
    expect(() => b.observe({ type: "SystemStatePacket", message: packet }, 1)).toThrow(
      /SystemStatePacket: trainingMetrics\.extra\.parameterCount is missing/,
    );
    const s = b.finish(end);
    expect(s.epochs).toEqual([]);
    expect(s.messages).toMatchObject({ statePackets: 0, rejected: 1 });
  });

  it("refuses a message of another run, naming the field", () => {
    const b = new RunSummaryBuilder(RUN, 0);
    const packet = statePacket(0, {
      validationLoss: 1,
      validationAccuracy: 0.1,
      parameterCount: 5,
      runId: "other",
    });
    expect(() => b.observe({ type: "SystemStatePacket", message: packet }, 1)).toThrow(
      new SummaryInputError("SystemStatePacket", "trainingRunId", `is 'other', not this run's id '${RUN}'`),
    );
    expect(() =>
      b.observe({ type: "TamiyoDecision", message: noActionDecision("no_plateau: x", "other") }, 1),
    ).toThrow(SummaryInputError);
    expect(b.finish(end).messages.rejected).toBe(2);
  });

  it("builds each seed's timeline from Kasmina's transition events, with reasons, skipping other runs", () => {
    const b = new RunSummaryBuilder(RUN, 0);
    const events = b.observe(
      {
        type: "TelemetryPacket",
        message: telemetry(
          transition("s1", "DORMANT", "GERMINATED", "command c1"),
          transition("s1", "GERMINATED", "TRAINING", "kernel grafted"),
          transition("s9", "DORMANT", "GERMINATED", "other run", "run-other"),
          { eventId: "kasmina.command.accepted", attributes: {} },
        ),
      },
      5_000,
    );
    b.observe({ type: "SeedDirective", message: directive("d2", "s1", S.TRAINING) }, 5_001);
    b.observe({ type: "SeedReport", message: seedReport("s1", S.TRAINING, 3) }, 5_002);
    // A late seed state from before the last transition does not move the seed's stage back.
    b.observe({ type: "SeedState", message: seedState("s1", S.GERMINATED, "bp-1") }, 5_003);
    expect(events).toEqual([
      {
        kind: "seed_stage",
        atMs: 5_000,
        seedId: "s1",
        from: "DORMANT",
        to: "GERMINATED",
        reason: "command c1",
      },
      {
        kind: "seed_stage",
        atMs: 5_000,
        seedId: "s1",
        from: "GERMINATED",
        to: "TRAINING",
        reason: "kernel grafted",
      },
    ]);
    const s = b.finish(end);
    expect(s.seeds).toEqual([
      {
        seedId: "s1",
        slotId: "slot-1",
        blueprintId: "bp-1",
        stage: "TRAINING",
        timeline: [
          { from: "DORMANT", to: "GERMINATED", reason: "command c1", atMs: 5_000 },
          { from: "GERMINATED", to: "TRAINING", reason: "kernel grafted", atMs: 5_000 },
        ],
        directives: 1,
        reports: 1,
        lastReport: { epoch: 3, loss: 0.5, alpha: 0.25, parameterCount: 130 },
      },
    ]);
  });

  it("refuses a transition event without a reason or with an unknown stage, naming the attribute", () => {
    const b = new RunSummaryBuilder(RUN, 0);
    const noReason = telemetry({
      eventId: summaryEventIds.seedTransition,
      attributes: { trainingRunId: RUN, seedId: "s1", from: "DORMANT", to: "GERMINATED" },
    });
    expect(() => b.observe({ type: "TelemetryPacket", message: noReason }, 1)).toThrow(
      "TelemetryPacket: events[0].attributes.reason is missing (required on kasmina.seed.transition)",
    );
    const badStage = telemetry(transition("s1", "DORMANT", "SPROUTING", "x"));
    expect(() => b.observe({ type: "TelemetryPacket", message: badStage }, 1)).toThrow(
      /events\[0\]\.attributes\.to is 'SPROUTING', not a seed stage name/,
    );
    const s = b.finish(end);
    expect(s.seeds).toEqual([]);
    expect(s.messages).toMatchObject({ telemetryPackets: 0, rejected: 2 });
  });

  it("accounts every command: applied by a directive, rejected with Kasmina's reason, or unresolved", () => {
    const b = new RunSummaryBuilder(RUN, 0);
    const applied = germinateCommand("c-applied", "s1", 100);
    const forged = germinateCommand("c-forged", "s2", 200);
    const pending = germinateCommand("c-pending", "s3", 300);
    const issued = b.observe({ type: "TamiyoDecision", message: commandDecision(applied) }, 1);
    // The same command seen again on the command stream is not issued twice.
    expect(b.observe({ type: "AdaptationCommand", message: applied }, 2)).toEqual([]);
    b.observe({ type: "AdaptationCommand", message: forged }, 3);
    b.observe({ type: "AdaptationCommand", message: pending }, 4);
    const appliedEvents = b.observe(
      { type: "SeedDirective", message: directive("d1", "s1", S.GERMINATED, "c-applied") },
      5,
    );
    const rejected = b.observe(
      {
        type: "TelemetryPacket",
        message: telemetry(
          {
            eventId: summaryEventIds.commandRejected,
            attributes: { trainingRunId: RUN, commandId: "c-forged", reason: "invalid_signature" },
            description: "HMAC does not match",
          },
          {
            eventId: summaryEventIds.commandRejected,
            attributes: { trainingRunId: RUN, commandId: "c-applied", reason: "nonce_replayed" },
          },
          {
            eventId: summaryEventIds.commandRejected,
            attributes: { trainingRunId: RUN, commandId: "c-never-seen", reason: "stale_command" },
          },
        ),
      },
      6,
    );
    expect(issued).toEqual([
      {
        kind: "command_issued",
        atMs: 100,
        commandId: "c-applied",
        commandType: "SEED",
        operation: "GERMINATE",
        targetSeedId: "s1",
      },
    ]);
    expect(appliedEvents).toEqual([
      { kind: "command_applied", atMs: 5, commandId: "c-applied", directiveId: "d1" },
    ]);
    expect(rejected.map((e) => e.kind === "command_rejected" && [e.commandId, e.reason])).toEqual([
      ["c-forged", "invalid_signature"],
      ["c-applied", "nonce_replayed"],
      ["c-never-seen", "stale_command"],
    ]);
    const s = b.finish(end);
    expect(s.commands).toMatchObject({ issued: 3, applied: 1, rejected: 1, unresolved: 1 });
    expect(s.commands.list.map((c) => [c.commandId, c.status, c.directiveId ?? c.reason ?? null])).toEqual([
      ["c-applied", "applied", "d1"],
      ["c-forged", "rejected", "invalid_signature"],
      ["c-pending", "unresolved", null],
    ]);
    expect(s.commands.rejections).toEqual([
      { commandId: "c-forged", reason: "invalid_signature", description: "HMAC does not match", atMs: 6 },
      { commandId: "c-applied", reason: "nonce_replayed", description: "", atMs: 6 },
      { commandId: "c-never-seen", reason: "stale_command", description: "", atMs: 6 },
    ]);
    expect(s.commands.unknownReferenced).toEqual(["c-never-seen"]);
    expect(s.decisions.command).toBe(1);
  });

  it("counts no-action decisions by reason code and lists decision timeouts", () => {
    const b = new RunSummaryBuilder(RUN, 0);
    b.observe({ type: "TamiyoDecision", message: noActionDecision("no_plateau: 1 of 3 epochs") }, 1);
    b.observe({ type: "TamiyoDecision", message: noActionDecision("no_plateau: 2 of 3 epochs") }, 2);
    b.observe(
      { type: "TamiyoDecision", message: noActionDecision("no_free_slot: all 2 slots hold seeds") },
      3,
    );
    const events = b.observe(
      {
        type: "TelemetryPacket",
        message: telemetry({
          eventId: summaryEventIds.decisionTimeout,
          attributes: { trainingRunId: RUN, epoch: "7", packetId: "pkt-7" },
          description: "no decision within 2000 ms",
        }),
      },
      70,
    );
    expect(events).toEqual([{ kind: "decision_timeout", atMs: 70, epoch: 7, packetId: "pkt-7" }]);
    const s = b.finish(end);
    expect(s.decisions).toEqual({ command: 0, noAction: { no_plateau: 2, no_free_slot: 1 } });
    expect(s.timeouts).toEqual({
      count: 1,
      list: [{ epoch: 7, packetId: "pkt-7", description: "no decision within 2000 ms", atMs: 70 }],
    });
  });

  it("ends with the outcome, its reason and the wall time", () => {
    const s = new RunSummaryBuilder(RUN, 1_000).finish({
      outcome: "failed",
      reason: "kasmina exited with code 1",
      endedAtMs: 4_500,
    });
    expect(s).toMatchObject({
      format: "esper.run-summary.v1",
      runId: RUN,
      outcome: "failed",
      outcomeReason: "kasmina exited with code 1",
      startedAtMs: 1_000,
      endedAtMs: 4_500,
      wallTimeMs: 3_500,
    });
    expect(s.parameterCount).toBeUndefined();
  });

  it("refuses an end before the start and an empty outcome reason", () => {
    const b = new RunSummaryBuilder(RUN, 1_000);
    expect(() => b.finish({ outcome: "completed", reason: "done", endedAtMs: 999 })).toThrow(/endedAtMs/);
    expect(() => b.finish({ outcome: "completed", reason: "", endedAtMs: 2_000 })).toThrow(/outcomeReason/);
  });
});
