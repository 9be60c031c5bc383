import type { TelemetryLevel } from "../../contracts/enums.ts";
import type { KernelPrefetchRequest } from "../../contracts/messages/kernel.ts";
import type { SeedDirective } from "../../contracts/messages/seed.ts";
import type { BlendRejectionReason } from "./blending.ts";
import type { SeedStage } from "./stages.ts";

/** A directive for Tolaria, to publish on the run's directive stream. */
export interface DirectiveEffect {
  readonly kind: "directive";
  readonly directive: SeedDirective;
}

/** A kernel request for Urza; main.ts answers with `prefetchResult` or, at its deadline, `prefetchTimedOut`. */
export interface PrefetchEffect {
  readonly kind: "prefetch";
  readonly seedId: string;
  readonly request: KernelPrefetchRequest;
}

/** A telemetry event; `name` follows `kasmina.<area>.<what>`. */
export interface EventEffect {
  readonly kind: "event";
  readonly level: TelemetryLevel;
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** Something main.ts performs, in list order. */
export type ControllerEffect = DirectiveEffect | PrefetchEffect | EventEffect;

/** One stage change of a seed, for telemetry and the run summary. */
export interface TimelineEntry {
  readonly seedId: string;
  readonly from: SeedStage;
  readonly to: SeedStage;
  readonly reason: string;
  readonly atMs: number;
}

/** Why a command was refused (the command changed nothing). */
export type RejectionReason =
  | "wrong_training_run"
  | "unsupported_command"
  | "missing_field"
  | "unknown_seed"
  | "unknown_slot"
  | "slot_embargoed"
  | "seed_in_flight"
  | "illegal_transition"
  | "reset_gate_failed"
  | BlendRejectionReason;

/** A refused command: the reason code and a sentence with the ids and stages involved. */
export interface CommandRejection {
  readonly commandId: string;
  readonly reason: RejectionReason;
  readonly detail: string;
}

/** What one input produced: the effects to perform and, for a refused command, the rejection. */
export interface ControllerOutput {
  readonly effects: readonly ControllerEffect[];
  readonly rejection?: CommandRejection;
}
