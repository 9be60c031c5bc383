import { z } from "zod";
import { SystemLimits } from "../budgets.ts";
import { HealthStatus, MessagePriority, TelemetryLevel } from "../enums.ts";
import { boundedTextMap, enumCode, finite, id, name, text, timestampMs } from "../primitives.ts";

/** One measurement. Names follow `<actor>.<area>.<name>`. */
export const MetricPoint = z.strictObject({
  name,
  value: finite,
  unit: z.string().max(32).optional(),
  attributes: boundedTextMap().optional(),
});
export type MetricPoint = z.infer<typeof MetricPoint>;

/** One event. `eventId` names the kind of event (e.g. `kasmina.command.rejected`). */
export const TelemetryEvent = z.strictObject({
  eventId: name,
  description: text,
  level: enumCode(TelemetryLevel, "TelemetryLevel"),
  attributes: boundedTextMap().optional(),
});
export type TelemetryEvent = z.infer<typeof TelemetryEvent>;

/** A timed span of work. */
export const TraceSpan = z
  .strictObject({
    spanId: id,
    parentSpanId: id.optional(),
    name,
    startMs: timestampMs,
    endMs: timestampMs,
    attributes: boundedTextMap().optional(),
  })
  .refine((s) => s.endMs >= s.startMs, { message: "must not be before startMs", path: ["endMs"] });
export type TraceSpan = z.infer<typeof TraceSpan>;

/** A subsystem's health summary. */
export const SystemHealth = z.strictObject({
  status: enumCode(HealthStatus, "HealthStatus"),
  summary: text,
  indicators: boundedTextMap().optional(),
});
export type SystemHealth = z.infer<typeof SystemHealth>;

const items = SystemLimits.maxTelemetryItems;

/** A batch of telemetry from one subsystem, with an explicit routing priority (RC1). */
export const TelemetryPacket = z.strictObject({
  packetId: id,
  timestampMs,
  sourceSubsystem: name,
  level: enumCode(TelemetryLevel, "TelemetryLevel"),
  priority: enumCode(MessagePriority, "MessagePriority"),
  metrics: z.array(MetricPoint).max(items),
  events: z.array(TelemetryEvent).max(items),
  spans: z.array(TraceSpan).max(items),
  systemHealth: SystemHealth.optional(),
});
export type TelemetryPacket = z.infer<typeof TelemetryPacket>;
