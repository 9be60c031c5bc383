import { type CircuitBreakerState, EmergencyLevel } from "../../contracts/enums.ts";
import type { AdaptationCommand } from "../../contracts/messages/command.ts";
import type { EmergencyLevels, LevelChange } from "./emergency-levels.ts";
import type { RollbackRequest } from "./rollback-tiers.ts";

/** What a command may change at a step boundary. */
export interface CommandTarget {
  readonly levels: EmergencyLevels;
  /** Training waits while paused. */
  paused: boolean;
  /** The learning-rate bounds (settings `tolaria`). */
  readonly bounds: { readonly learningRateMin: number; readonly learningRateMax: number };
  setLearningRate(lr: number): void;
  /** Moves the circuit breaker to a commanded state; returns what changed. */
  setBreaker(state: CircuitBreakerState): string;
}

/** What applying a command did. */
export type CommandEffect =
  | { readonly kind: "applied"; readonly detail: string; readonly change?: LevelChange }
  | { readonly kind: "halt"; readonly change: LevelChange | undefined }
  | { readonly kind: "rollback"; readonly request: RollbackRequest; readonly reason: string }
  | { readonly kind: "rejected"; readonly reason: string; readonly detail: string };

const unsupported = (what: string): CommandEffect => ({
  kind: "rejected",
  reason: "unsupported_command",
  detail: `${what} is not supported by Tolaria`,
});

/**
 * Applies a verified command to `target`: EMERGENCY raises the level (HALT: the caller stops the run);
 * PAUSE pauses or resumes; OPTIMIZER sets the learning rate when it lies within the bounds
 * (`optimizer_out_of_bounds` naming the bound otherwise); CIRCUIT_BREAKER sets the breaker's state
 * (the contract refuses UNKNOWN); ROLLBACK becomes a rollback request the caller performs
 * (`invalid_rollback` for a checkpoint id on the fast tier or both a checkpoint id and an epoch).
 * Anything else is `unsupported_command`.
 */
export function applyCommand(command: AdaptationCommand, target: CommandTarget): CommandEffect {
  const p = command.payload;
  switch (p.kind) {
    case "emergency": {
      const change = target.levels.raise({ kind: "command", level: p.level, reason: p.reason });
      if (p.level === EmergencyLevel.HALT) return { kind: "halt", change };
      return change === undefined
        ? { kind: "applied", detail: `emergency level stays ${target.levels.level}` }
        : { kind: "applied", detail: `emergency level ${change.from} → ${change.to}`, change };
    }
    case "pause":
      target.paused = !p.resume;
      return { kind: "applied", detail: `${p.resume ? "resumed" : "paused"}: ${p.reason}` };
    case "optimizer": {
      if (p.momentum !== undefined) return unsupported("an OPTIMIZER command's payload.momentum");
      if (p.weightDecay !== undefined) return unsupported("an OPTIMIZER command's payload.weightDecay");
      const lr = p.learningRate;
      if (lr === undefined) return unsupported("an OPTIMIZER command without payload.learningRate");
      const { learningRateMin: min, learningRateMax: max } = target.bounds;
      if (lr < min)
        return {
          kind: "rejected",
          reason: "optimizer_out_of_bounds",
          detail: `payload.learningRate ${lr} is below tolaria.learningRateMin ${min}`,
        };
      if (lr > max)
        return {
          kind: "rejected",
          reason: "optimizer_out_of_bounds",
          detail: `payload.learningRate ${lr} is above tolaria.learningRateMax ${max}`,
        };
      target.setLearningRate(lr);
      return { kind: "applied", detail: `learning rate ${lr}` };
    }
    case "seed":
      return unsupported("a SEED command (seed commands go to Kasmina)");
    case "rollback": {
      const invalid = (detail: string): CommandEffect => ({
        kind: "rejected",
        reason: "invalid_rollback",
        detail,
      });
      if (p.checkpointId !== undefined && p.toEpoch !== undefined)
        return invalid("payload.checkpointId and payload.toEpoch both name a target: give one");
      if (p.mode === "fast" && p.checkpointId !== undefined)
        return invalid(`payload.checkpointId ${p.checkpointId} names a checkpoint: use mode "full"`);
      const request = {
        tier: p.mode,
        ...(p.toEpoch === undefined ? {} : { toEpoch: p.toEpoch }),
        ...(p.checkpointId === undefined ? {} : { checkpointId: p.checkpointId }),
      };
      return { kind: "rollback", request, reason: p.reason };
    }
    case "circuitBreaker":
      return { kind: "applied", detail: `${target.setBreaker(p.desiredState)}: ${p.rationale}` };
    case "structuralPruning":
      return unsupported("a STRUCTURAL_PRUNING command");
  }
}
