import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { publishToStream } from "../../bus/jetstream/publish.ts";
import { EmergencyLevel } from "../../contracts/enums.ts";
import type { ActorContext } from "../runtime/actor-types.ts";

/** Stores an EmergencySignal from Tolaria on `emergency.{run}`: `level`, `reason`, and `attributes` (plus trainingRunId). */
export async function publishEmergency(
  ctx: ActorContext,
  level: EmergencyLevel,
  reason: string,
  attributes: Readonly<Record<string, string>>,
): Promise<void> {
  if (level === EmergencyLevel.UNSPECIFIED) throw new RangeError("an EmergencySignal needs a level");
  await publishToStream(
    ctx.bus,
    "emergency",
    {
      version: 1,
      signalId: randomUUID(),
      level,
      reason,
      origin: "tolaria",
      triggeredAt: Date.now(),
      monotonicTimeMs: Math.round(performance.now()),
      runId: ctx.runId,
      attributes: { ...attributes, trainingRunId: ctx.runId },
    },
    { params: { run: ctx.runId } },
  );
}
