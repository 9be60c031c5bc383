import { z } from "zod";
import { FieldReportOutcome } from "../enums.ts";
import {
  boundedNumberMap,
  enumCode,
  finite,
  id,
  name,
  nonNegative,
  text,
  timestampMs,
  uint32,
} from "../primitives.ts";

/** A follow-up action Tamiyo recommends after a command's outcome. */
export const MitigationAction = z.strictObject({ actionType: name, rationale: text });
export type MitigationAction = z.infer<typeof MitigationAction>;

/** What changed over the observation window (RC1 typed delta). */
export const FieldReportDelta = z.strictObject({
  lossDelta: finite,
  lossDeltaMin: finite,
  lossDeltaMax: finite,
  accuracyDelta: finite,
  epochs: uint32,
  criticalEvents: uint32,
  avgDecisionLatencyMs: nonNegative,
});
export type FieldReportDelta = z.infer<typeof FieldReportDelta>;

/** The judged outcome of one command after its observation window. */
export const FieldReport = z.strictObject({
  version: uint32,
  reportId: id,
  commandId: id,
  trainingRunId: id,
  seedId: id.optional(),
  blueprintId: id.optional(),
  outcome: enumCode(FieldReportOutcome, "FieldReportOutcome"),
  delta: FieldReportDelta,
  metrics: boundedNumberMap(),
  observationWindowEpochs: uint32,
  issuedAt: timestampMs,
  tamiyoPolicyVersion: name,
  followUpActions: z.array(MitigationAction).max(16),
  notes: text,
});
export type FieldReport = z.infer<typeof FieldReport>;
