import { publishToStream } from "../../bus/jetstream/publish.ts";
import type { FieldReport } from "../../contracts/index.ts";
import type { ActorContext } from "../runtime/actor-types.ts";
import { outcomeName } from "./field-report-window.ts";
import type { FieldReports } from "./field-reports.ts";
import { FIELD_REPORT_PUBLISH_DEADLINE_MS } from "./settings.ts";

/** Stores a field report on `fieldreport.<run>`; its report id is its `Nats-Msg-Id`, so a re-publish is a duplicate. */
export function fieldReportPublisher(
  ctx: ActorContext,
): (report: FieldReport) => Promise<{ duplicate: boolean }> {
  return async (report) => {
    const ack = await publishToStream(ctx.bus, "fieldReport", report, {
      params: { run: report.trainingRunId },
      deadlineMs: FIELD_REPORT_PUBLISH_DEADLINE_MS,
    });
    return { duplicate: ack.duplicate };
  };
}

/**
 * Publishes the pending field reports with their telemetry: INFO `tamiyo.fieldreport.published` per
 * report and the count per outcome `tamiyo.fieldreport.published_total` (attribute `outcome`); INFO
 * `tamiyo.fieldreport.duplicate` per report the stream already held (not counted again); WARNING
 * `tamiyo.fieldreport.publish_failed` per report left pending for the next round; gauge
 * `tamiyo.wal.size_bytes`. A failed round (a failed log write) is reported as `tamiyo.fieldreport.error`
 * and counted in `tamiyo.wal.errors_total`.
 */
export function createFieldReportRounds(ctx: ActorContext, reports: FieldReports): () => Promise<void> {
  const totals = new Map<string, number>();
  let logErrors = 0;
  return async () => {
    try {
      const round = await reports.publishPending();
      for (const { report, duplicate } of round.published) {
        const outcome = outcomeName(report.outcome);
        if (duplicate) {
          ctx.telemetry.event("tamiyo.fieldreport.duplicate", {
            level: "INFO",
            description: `field report ${report.reportId} was already stored: its publish record was lost to a crash`,
            attributes: { reportId: report.reportId, trainingRunId: report.trainingRunId, outcome },
          });
          continue;
        }
        totals.set(outcome, (totals.get(outcome) ?? 0) + 1);
        ctx.telemetry.metric("tamiyo.fieldreport.published_total", totals.get(outcome) ?? 0, {
          attributes: { outcome },
        });
        ctx.telemetry.event("tamiyo.fieldreport.published", {
          level: "INFO",
          description: `${outcome} for command ${report.commandId}: ${report.notes}`.slice(0, 4096),
          attributes: {
            reportId: report.reportId,
            commandId: report.commandId,
            trainingRunId: report.trainingRunId,
            outcome,
          },
        });
      }
      for (const { report, error } of round.failed) {
        ctx.telemetry.event("tamiyo.fieldreport.publish_failed", {
          level: "WARNING",
          description:
            `field report ${report.reportId} stays pending: ${error instanceof Error ? error.message : String(error)}`.slice(
              0,
              4096,
            ),
          attributes: { reportId: report.reportId, trainingRunId: report.trainingRunId },
        });
      }
    } catch (err) {
      ctx.reportError("fieldreport", err);
      ctx.telemetry.metric("tamiyo.wal.errors_total", ++logErrors);
    }
    ctx.telemetry.metric("tamiyo.wal.size_bytes", reports.logBytes, { unit: "bytes" });
  };
}
