import type { ChildEvent } from "./child-processes.ts";
import type { SupervisionEvent } from "./child-supervisor.ts";
import type { RunOutcome, StageName } from "./summary-schema.ts";

/** A seed and its stage, as shown on the progress line. */
export interface SeedStageView {
  readonly seedId: string;
  readonly stage: StageName;
}

/** What happened in a run, as the progress output shows it (and `--json` prints it). */
export type RunEvent =
  | {
      readonly kind: "epoch";
      readonly atMs: number;
      readonly epoch: number;
      readonly epochsTotal: number;
      readonly globalStep: number;
      readonly trainingLoss: number;
      readonly validationLoss: number;
      readonly validationAccuracy: number;
      readonly parameterCount: number;
      readonly seeds: readonly SeedStageView[];
    }
  | {
      readonly kind: "seed_stage";
      readonly atMs: number;
      readonly seedId: string;
      readonly from: StageName;
      readonly to: StageName;
      readonly reason: string;
    }
  | {
      readonly kind: "command_issued";
      readonly atMs: number;
      readonly commandId: string;
      readonly commandType: string;
      readonly operation?: string;
      readonly targetSeedId?: string;
    }
  | {
      readonly kind: "command_applied";
      readonly atMs: number;
      readonly commandId: string;
      readonly directiveId: string;
    }
  | {
      readonly kind: "command_rejected";
      readonly atMs: number;
      readonly commandId: string;
      readonly reason: string;
    }
  | {
      readonly kind: "decision_timeout";
      readonly atMs: number;
      readonly epoch: number;
      readonly packetId: string;
    }
  | {
      readonly kind: "actor";
      readonly atMs: number;
      readonly actor: string;
      readonly state:
        | "spawned"
        | "ready"
        | "stopping"
        | "killed"
        | "exited"
        | "error"
        | "silent"
        | "restarting"
        | "restarted"
        | "gave-up"
        | "degraded";
      readonly detail: string;
    }
  | {
      readonly kind: "finished";
      readonly atMs: number;
      readonly outcome: RunOutcome;
      readonly reason: string;
      readonly wallTimeMs: number;
    };

/** The run event of a supervision decision about a child. */
export function supervisionEvent(event: SupervisionEvent, atMs: number): RunEvent {
  const base = { kind: "actor", atMs, actor: event.actor } as const;
  switch (event.kind) {
    case "silent":
      return {
        ...base,
        state: "silent",
        detail: `no heartbeat for ${event.silentForMs} ms (pid ${event.pid})`,
      };
    case "restarting":
      return {
        ...base,
        state: "restarting",
        detail: `restart ${event.attempt} in ${event.delayMs} ms after: ${event.cause}`,
      };
    case "restarted":
      return { ...base, state: "restarted", detail: `restart ${event.attempt} ready (pid ${event.pid})` };
    case "gave-up":
      return { ...base, state: "gave-up", detail: event.reason };
    case "degraded":
      return { ...base, state: "degraded", detail: event.reason };
  }
}

/** The run event of a child's lifecycle event; undefined for its output lines. */
export function actorEvent(event: ChildEvent, atMs: number): RunEvent | undefined {
  switch (event.type) {
    case "spawned":
      return { kind: "actor", atMs, actor: event.actor, state: "spawned", detail: `pid ${event.pid}` };
    case "stopping":
      return {
        kind: "actor",
        atMs,
        actor: event.actor,
        state: "stopping",
        detail: `SIGTERM, grace ${event.graceMs} ms`,
      };
    case "killed":
      return {
        kind: "actor",
        atMs,
        actor: event.actor,
        state: "killed",
        detail: `SIGKILL after ${event.graceMs} ms`,
      };
    case "exited": {
      const how = event.exit.signal !== null ? `signal ${event.exit.signal}` : `code ${event.exit.code}`;
      return {
        kind: "actor",
        atMs,
        actor: event.actor,
        state: "exited",
        detail: `${how}${event.requested ? "" : " (not asked to stop)"}`,
      };
    }
    case "error":
      return { kind: "actor", atMs, actor: event.actor, state: "error", detail: event.message };
    case "output":
      return undefined;
  }
}
