import {
  AdaptationCommand,
  HealthStatus,
  SeedDirective,
  type SeedLifecycleStage,
  SeedReport,
  type SeedState,
  type SystemStatePacket,
  TelemetryLevel,
  TelemetryPacket,
} from "../../../contracts/index.ts";
import { directive, germinateCommand, seedReport, statePacket } from "./run-messages.ts";

/**
 * Valid Leyline messages of run `runId`, for tests with several runs on one bus: the fixtures of
 * run-messages.ts with this run's id in the message and in every natural id (packet, command,
 * directive and report ids), so two runs' messages are never deduplicated against each other.
 */
export function messagesOf(runId: string) {
  return {
    statePacket(
      epoch: number,
      fields: { validationAccuracy: number; parameterCount: number; seeds?: readonly SeedState[] },
    ): SystemStatePacket {
      const packet = statePacket(epoch, {
        validationLoss: 1 - fields.validationAccuracy,
        validationAccuracy: fields.validationAccuracy,
        parameterCount: fields.parameterCount,
        seeds: fields.seeds ?? [],
        runId,
      });
      return { ...packet, packetId: `${runId}-pkt-${epoch}` };
    },
    germinate(commandId: string, seedId: string): AdaptationCommand {
      return AdaptationCommand.parse({ ...germinateCommand(commandId, seedId), trainingRunId: runId });
    },
    directive(
      directiveId: string,
      seedId: string,
      stage: SeedLifecycleStage,
      commandId?: string,
    ): SeedDirective {
      return SeedDirective.parse({
        ...directive(directiveId, seedId, stage, commandId),
        trainingRunId: runId,
      });
    },
    seedReport(seedId: string, stage: SeedLifecycleStage, epoch: number): SeedReport {
      return SeedReport.parse({
        ...seedReport(seedId, stage, epoch),
        reportId: `${runId}-report-${seedId}-${epoch}`,
        trainingRunId: runId,
      });
    },
  };
}

/** One telemetry item of a packet: an event with attributes, or a metric with attributes. */
export type TelemetryItem =
  | { readonly event: string; readonly attributes: Record<string, string> }
  | { readonly metric: string; readonly value: number; readonly attributes?: Record<string, string> };

/** A valid INFO telemetry packet `packetId` from `source` holding `items` (events and metrics in order). */
export function telemetryPacket(
  packetId: string,
  source: string,
  items: readonly TelemetryItem[],
): TelemetryPacket {
  return TelemetryPacket.parse({
    packetId,
    timestampMs: 3_000,
    sourceSubsystem: source,
    level: TelemetryLevel.INFO,
    priority: 2,
    metrics: items.flatMap((i) =>
      "metric" in i
        ? [
            {
              name: i.metric,
              value: i.value,
              ...(i.attributes !== undefined ? { attributes: i.attributes } : {}),
            },
          ]
        : [],
    ),
    events: items.flatMap((i) =>
      "event" in i
        ? [{ eventId: i.event, description: "", level: TelemetryLevel.INFO, attributes: i.attributes }]
        : [],
    ),
    spans: [],
    systemHealth: { status: HealthStatus.HEALTHY, summary: "ok" },
  });
}
