import { z } from "zod";
import { EmergencyLevel } from "../enums.ts";
import { boundedTextMap, count, enumCode, id, name, text, timestampMs, uint32 } from "../primitives.ts";

/** An escalation raised by any actor (Tolaria acts on it; Weatherlight routes it). */
export const EmergencySignal = z.strictObject({
  version: uint32,
  signalId: id,
  level: enumCode(EmergencyLevel, "EmergencyLevel"),
  reason: text.min(1, "must not be empty"),
  origin: name,
  triggeredAt: timestampMs,
  monotonicTimeMs: count,
  runId: id,
  attributes: boundedTextMap(),
});
export type EmergencySignal = z.infer<typeof EmergencySignal>;
