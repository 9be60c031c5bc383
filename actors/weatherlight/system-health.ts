import type { ChildStatus, SupervisionOutcome } from "./child-supervisor.ts";
import type { ChildHealth, CommandRejectionsHealth, HealthSnapshot } from "./system-health-schema.ts";
import type { TelemetryRouterStats } from "./telemetry-router.ts";

/** The last heartbeat of a child's instance as Weatherlight received it. */
export interface HeartbeatSeen {
  readonly state: string;
  readonly pid: number;
  /** When Weatherlight received it (its own clock). */
  readonly receivedAtMs: number;
}

/** What supervision says now; absent before the ChildSupervisor took the children (the initial start). */
export interface SupervisionState {
  readonly children: readonly ChildStatus[];
  readonly restartsInPeriod: number;
  /** How supervision ended, once it has. */
  readonly outcome: SupervisionOutcome | undefined;
}

/** Compose mode: the restarts seen from heartbeats (a new process of an actor), instead of supervision's. */
export interface ExternalRestarts {
  /** Per actor, every restart seen so far. */
  readonly perActor: ReadonlyMap<string, number>;
  /** Restarts of all actors within `restartPeriodMs`. */
  readonly inPeriod: number;
}

/** Everything the system mode is decided from, at one instant. */
export interface HealthInputs {
  readonly nowMs: number;
  readonly runId: string;
  /** The run's children in start order. */
  readonly actors: readonly string[];
  readonly heartbeats: ReadonlyMap<string, HeartbeatSeen>;
  readonly supervision: SupervisionState | undefined;
  /** Compose mode (no supervision): the restarts seen from heartbeats. */
  readonly external?: ExternalRestarts;
  readonly router: TelemetryRouterStats;
  /** When the router last counted a publish failure or a drop (RouterIncidents), if ever. */
  readonly routerIncidentAtMs: number | undefined;
  /** Worker settings: `timeouts.heartbeatMissedAfterMs`, `supervisor.restartIntensity`, `supervisor.restartPeriodMs`. */
  readonly heartbeatMissedAfterMs: number;
  readonly restartIntensity: number;
  readonly restartPeriodMs: number;
  /** The command rejections the router took in (reported, not part of the mode). */
  readonly commandRejections: CommandRejectionsHealth;
}

/**
 * The system mode (pure). Degraded when any of these holds, each giving one reason:
 * - a child is not ready under supervision (`failed`: awaiting its restart; `restarting`: not ready yet);
 * - a child has sent no heartbeat, its last one is older than `heartbeatMissedAfterMs`, or its last
 *   one is not `running`;
 * - supervision has ended (the run is over or halted: `gave-up`, `degraded`, `owner-finished`, `stopped`);
 * - the restarts within `restartPeriodMs` (supervision's, or in compose mode those seen from heartbeats)
 *   have reached `restartIntensity` (embedded: the next failure halts the run);
 * - the router counted a publish failure or a dropped packet within `restartPeriodMs`.
 * Otherwise operational.
 */
export function assessSystemHealth(inputs: HealthInputs): HealthSnapshot {
  const { nowMs, supervision, router } = inputs;
  const reasons: string[] = [];
  const statusOf = new Map(supervision?.children.map((c) => [c.actor, c]));
  const children = inputs.actors.map((actor): ChildHealth => {
    const status = statusOf.get(actor);
    const seen = inputs.heartbeats.get(actor);
    const heartbeat =
      seen === undefined
        ? null
        : { state: seen.state, pid: seen.pid, ageMs: Math.max(0, nowMs - seen.receivedAtMs) };
    const reason = childProblem(actor, status, heartbeat, inputs.heartbeatMissedAfterMs);
    if (reason !== undefined) reasons.push(reason);
    return {
      actor,
      up: reason === undefined,
      supervision: status?.phase ?? (inputs.external !== undefined ? "external" : "starting"),
      pid: status?.pid ?? seen?.pid ?? null,
      restarts: status?.restarts ?? inputs.external?.perActor.get(actor) ?? 0,
      heartbeat,
    };
  });
  const outcome = supervision?.outcome;
  if (outcome !== undefined) reasons.push(`supervision ended: ${describeOutcome(outcome)}`);
  const restartsInPeriod = supervision?.restartsInPeriod ?? inputs.external?.inPeriod ?? 0;
  if (restartsInPeriod > 0 && restartsInPeriod >= inputs.restartIntensity) {
    const then = supervision !== undefined ? "; the next failure halts the run" : "";
    reasons.push(
      `restart intensity reached: ${restartsInPeriod} restarts within ${inputs.restartPeriodMs} ms (at most ${inputs.restartIntensity})${then}`,
    );
  }
  const incidentAt = inputs.routerIncidentAtMs;
  if (incidentAt !== undefined && nowMs - incidentAt < inputs.restartPeriodMs) {
    reasons.push(
      `telemetry router: ${router.publishFailures} publish failures, ${router.dropped} dropped packets (the last ${nowMs - incidentAt} ms ago)`,
    );
  }
  return {
    mode: reasons.length === 0 ? "operational" : "degraded",
    reasons,
    atMs: nowMs,
    runId: inputs.runId,
    children,
    supervision: {
      outcome: outcome?.kind ?? null,
      restartsInPeriod,
      restartIntensity: inputs.restartIntensity,
      restartPeriodMs: inputs.restartPeriodMs,
    },
    router: {
      received: router.received,
      rejected: router.rejected,
      stored: { normal: router.stored.normal, emergency: router.stored.emergency },
      throttled: router.throttled,
      dropped: router.dropped,
      publishFailures: router.publishFailures,
      queueDepth: router.queueDepth,
      inFlight: router.inFlight,
    },
    commandRejections: inputs.commandRejections,
  };
}

function childProblem(
  actor: string,
  status: ChildStatus | undefined,
  heartbeat: ChildHealth["heartbeat"],
  missedAfterMs: number,
): string | undefined {
  if (status?.phase === "failed")
    return `${actor} failed and awaits its restart (restarts so far ${status.restarts})`;
  if (status?.phase === "restarting") return `${actor} is restarting (pid ${status.pid} not ready yet)`;
  if (heartbeat === null) return `${actor} has sent no heartbeat`;
  if (heartbeat.ageMs > missedAfterMs)
    return `${actor} sent no heartbeat for ${heartbeat.ageMs} ms (at most ${missedAfterMs} ms)`;
  if (heartbeat.state !== "running") return `${actor} is ${heartbeat.state}`;
  return undefined;
}

function describeOutcome(outcome: SupervisionOutcome): string {
  switch (outcome.kind) {
    case "owner-finished":
      return `${outcome.actor} finished the run`;
    case "gave-up":
      return `gave up on ${outcome.actor}: ${outcome.reason}`;
    case "degraded":
      return `degraded: ${outcome.reason}`;
    case "stopped":
      return "stopped";
  }
}

/**
 * When the router last counted a publish failure or a dropped packet (pure: fed samples). `observe`
 * each stats sample with its time; an increase of either counter since the previous sample (or from
 * zero at the first) is an incident at that sample's time.
 */
export class RouterIncidents {
  private publishFailures = 0;
  private dropped = 0;
  private lastAtMs: number | undefined;

  observe(stats: Pick<TelemetryRouterStats, "publishFailures" | "dropped">, atMs: number): void {
    if (stats.publishFailures > this.publishFailures || stats.dropped > this.dropped) this.lastAtMs = atMs;
    this.publishFailures = stats.publishFailures;
    this.dropped = stats.dropped;
  }

  /** The time of the last sample that saw an incident, if any did. */
  lastIncidentAtMs(): number | undefined {
    return this.lastAtMs;
  }
}

/**
 * Compose mode's restart count (pure: fed heartbeats). The first process seen of an actor is its
 * start; each later new process is a restart, at the time its first heartbeat arrived: an instance id
 * not seen before (compose replaced the container under another name, or a second replica appeared),
 * or a known instance whose pid changed or whose uptime went back (the container restarted under the
 * same name, its process perhaps pid 1 again).
 */
export class HeartbeatRestarts {
  private readonly processes = new Map<string, Map<string, { pid: number; uptimeMs: number }>>();
  private readonly perActor = new Map<string, number>();
  private readonly times: number[] = [];

  /** One heartbeat of `actor` from instance `instanceId` (its pid and uptime), received at `atMs`. */
  observe(actor: string, beat: { instanceId: string; pid: number; uptimeMs: number }, atMs: number): void {
    const instances = this.processes.get(actor);
    const now = { pid: beat.pid, uptimeMs: beat.uptimeMs };
    if (instances === undefined) {
      this.processes.set(actor, new Map([[beat.instanceId, now]]));
      return;
    }
    const last = instances.get(beat.instanceId);
    instances.set(beat.instanceId, now);
    if (last !== undefined && last.pid === beat.pid && last.uptimeMs <= beat.uptimeMs) return;
    this.perActor.set(actor, (this.perActor.get(actor) ?? 0) + 1);
    this.times.push(atMs);
  }

  /** The restarts so far per actor, and those of all actors within the `periodMs` before `nowMs`. */
  seen(nowMs: number, periodMs: number): ExternalRestarts {
    while (this.times[0] !== undefined && this.times[0] <= nowMs - periodMs) this.times.shift();
    return { perActor: this.perActor, inPeriod: this.times.length };
  }
}
