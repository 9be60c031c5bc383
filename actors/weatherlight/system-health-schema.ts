import { z } from "zod";

const count = z.number().int().min(0);
const nonEmpty = z.string().min(1, "must not be empty");

/** Whether the stack does its work: `operational`, or `degraded` with the reasons. */
export const SystemMode = z.enum(["operational", "degraded"]);
export type SystemMode = z.infer<typeof SystemMode>;

/**
 * A child as supervision sees it: not yet supervised (`starting`: the initial start in order), its
 * `ChildPhase`, or `external` (compose mode: run and restarted by someone else, seen by heartbeats alone).
 */
export const ChildSupervision = z.enum(["starting", "ready", "failed", "restarting", "external"]);
export type ChildSupervision = z.infer<typeof ChildSupervision>;

/** One child actor in a health snapshot. */
export const ChildHealth = z.strictObject({
  actor: nonEmpty,
  /** Ready under supervision (or not yet supervised) with a fresh `running` heartbeat: no reason of its own for `degraded`. */
  up: z.boolean(),
  supervision: ChildSupervision,
  /** The supervised process, else the pid of the last heartbeat; null when neither is known yet. */
  pid: count.nullable(),
  restarts: count,
  /** The last heartbeat of the run's instance of the actor (its lifecycle state, pid, age); null before the first. */
  heartbeat: z.strictObject({ state: nonEmpty, pid: count, ageMs: count }).nullable(),
});
export type ChildHealth = z.infer<typeof ChildHealth>;

/** One command rejection the telemetry router took in (an `<actor>.command.rejected` event). */
export const CommandRejectionSeen = z.strictObject({
  /** The telemetry packet's timestamp. */
  atMs: count,
  /** The packet's source subsystem (the actor that refused the command). */
  actor: nonEmpty,
  eventId: nonEmpty,
  /** The event's `commandId` attribute; null when the event has none. */
  commandId: nonEmpty.nullable(),
  /** The event's `reason` attribute (e.g. `invalid_signature`); null when the event has none. */
  reason: nonEmpty.nullable(),
  /** The event's `detail` attribute, else its description. */
  detail: z.string(),
});
export type CommandRejectionSeen = z.infer<typeof CommandRejectionSeen>;

/** The command rejections of a snapshot: how many since Weatherlight started, the last few newest first. */
export const CommandRejectionsHealth = z.strictObject({
  total: count,
  recent: z.array(CommandRejectionSeen),
});
export type CommandRejectionsHealth = z.infer<typeof CommandRejectionsHealth>;

/** The health of one Weatherlight's stack: what `GET /healthz` returns and `esper status` prints. */
export const HealthSnapshot = z.strictObject({
  mode: SystemMode,
  /** Why the mode is `degraded`, one line each; empty when operational. */
  reasons: z.array(nonEmpty),
  atMs: count,
  runId: nonEmpty,
  children: z.array(ChildHealth),
  supervision: z.strictObject({
    /** How supervision ended (`owner-finished`, `gave-up`, `degraded`, `stopped`); null while it goes on or before it began. */
    outcome: nonEmpty.nullable(),
    restartsInPeriod: count,
    restartIntensity: count,
    restartPeriodMs: count,
  }),
  router: z.strictObject({
    received: count,
    rejected: count,
    stored: z.strictObject({ normal: count, emergency: count }),
    throttled: count,
    dropped: count,
    publishFailures: count,
    queueDepth: count,
    inFlight: count,
  }),
  /** Commands the actors refused (they do not change the mode). */
  commandRejections: CommandRejectionsHealth,
});
export type HealthSnapshot = z.infer<typeof HealthSnapshot>;
