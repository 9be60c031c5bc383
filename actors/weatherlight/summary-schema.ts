import { z } from "zod";
import { SeedLifecycleStage } from "../../contracts/enums.ts";

const nonEmpty = z.string().min(1, "must not be empty");
const count = z.number().int().min(0);
const timestampMs = z.number().int().min(0);
const stageNames = Object.keys(SeedLifecycleStage).filter((n) => n !== "UNKNOWN") as [string, ...string[]];

/** A seed lifecycle stage by name (`TRAINING`, …), as it reads in summary.json. */
export const StageName = z.enum(stageNames);
export type StageName = z.infer<typeof StageName>;

/** One epoch of training as reported by its SystemStatePacket. */
export const EpochRecord = z.strictObject({
  epoch: count,
  globalStep: count,
  trainingLoss: z.number(),
  validationLoss: z.number(),
  validationAccuracy: z.number().min(0).max(1),
  parameterCount: count,
  seeds: z.array(z.strictObject({ seedId: nonEmpty, stage: StageName })),
  atMs: timestampMs,
});
export type EpochRecord = z.infer<typeof EpochRecord>;

/** One stage change of a seed, with Kasmina's reason. */
export const StageChange = z.strictObject({
  from: StageName,
  to: StageName,
  reason: nonEmpty,
  atMs: timestampMs,
});
export type StageChange = z.infer<typeof StageChange>;

/** One seed of the run: what it grafted, where, and its timeline. */
export const SeedRecord = z.strictObject({
  seedId: nonEmpty,
  slotId: nonEmpty.optional(),
  blueprintId: nonEmpty.optional(),
  stage: StageName,
  timeline: z.array(StageChange),
  directives: count,
  reports: count,
  lastReport: z
    .strictObject({ epoch: count, loss: z.number(), alpha: z.number(), parameterCount: count })
    .optional(),
});
export type SeedRecord = z.infer<typeof SeedRecord>;

/**
 * A command of the run and what became of it: `applied` (a seed directive carries its id), `rejected`
 * (Kasmina's reason) or `unresolved` (neither by the end of the run).
 */
export const CommandRecord = z
  .strictObject({
    commandId: nonEmpty,
    commandType: nonEmpty,
    targetSeedId: nonEmpty.optional(),
    operation: nonEmpty.optional(),
    issuedAtMs: timestampMs,
    status: z.enum(["applied", "rejected", "unresolved"]),
    directiveId: nonEmpty.optional(),
    reason: nonEmpty.optional(),
  })
  .refine((c) => (c.status === "applied") === (c.directiveId !== undefined), {
    message: "is required exactly when status is applied",
    path: ["directiveId"],
  })
  .refine((c) => (c.status === "rejected") === (c.reason !== undefined), {
    message: "is required exactly when status is rejected",
    path: ["reason"],
  });
export type CommandRecord = z.infer<typeof CommandRecord>;

/** One rejection of a command by Kasmina (a replayed command is rejected again under the same id). */
export const CommandRejection = z.strictObject({
  commandId: nonEmpty,
  reason: nonEmpty,
  description: z.string(),
  atMs: timestampMs,
});
export type CommandRejection = z.infer<typeof CommandRejection>;

/** A decision Tamiyo did not give in time (reported by Tolaria). */
export const TimeoutRecord = z.strictObject({
  epoch: count,
  packetId: nonEmpty,
  description: z.string(),
  atMs: timestampMs,
});
export type TimeoutRecord = z.infer<typeof TimeoutRecord>;

/** How the run ended. */
export const RunOutcome = z.enum(["completed", "failed", "stopped"]);
export type RunOutcome = z.infer<typeof RunOutcome>;

/** The content of a run directory's `summary.json` (a file format, not a bus message). */
export const RunSummary = z
  .strictObject({
    format: z.literal("esper.run-summary.v1"),
    runId: nonEmpty,
    outcome: RunOutcome,
    outcomeReason: nonEmpty,
    startedAtMs: timestampMs,
    endedAtMs: timestampMs,
    wallTimeMs: count,
    parameterCount: z.strictObject({ first: count, last: count }).optional(),
    epochs: z.array(EpochRecord),
    seeds: z.array(SeedRecord),
    commands: z.strictObject({
      issued: count,
      applied: count,
      rejected: count,
      unresolved: count,
      list: z.array(CommandRecord),
      rejections: z.array(CommandRejection),
      /** Command ids that directives or rejections named but that were never seen issued. */
      unknownReferenced: z.array(nonEmpty),
    }),
    decisions: z.strictObject({ command: count, noAction: z.record(nonEmpty, count) }),
    timeouts: z.strictObject({ count, list: z.array(TimeoutRecord) }),
    messages: z.strictObject({
      statePackets: count,
      seedStates: count,
      seedDirectives: count,
      seedReports: count,
      commands: count,
      decisions: count,
      telemetryPackets: count,
      rejected: count,
    }),
  })
  .refine((s) => s.endedAtMs >= s.startedAtMs, {
    message: "must not be before startedAtMs",
    path: ["endedAtMs"],
  })
  .refine((s) => s.wallTimeMs === s.endedAtMs - s.startedAtMs, {
    message: "must equal endedAtMs - startedAtMs",
    path: ["wallTimeMs"],
  })
  .refine((s) => s.commands.issued === s.commands.list.length, {
    message: "must equal the number of listed commands",
    path: ["commands", "issued"],
  });
export type RunSummary = z.infer<typeof RunSummary>;
