import { EmergencyLevel } from "../../contracts/enums.ts";
import type { AdaptationCommand } from "../../contracts/messages/command.ts";
import type { EmergencyLevels, LevelChange } from "./emergency-levels.ts";

/** What a command may change at a step boundary. */
export interface CommandTarget {
  readonly levels: EmergencyLevels;
  /** Training waits while paused. */
  paused: boolean;
  /** The learning-rate bounds (settings `tolaria`). */
  readonly bounds: { readonly learningRateMin: number; readonly learningRateMax: number };
  setLearningRate(lr: number): void;
}

/** What applying a command did. */
export type CommandEffect =
  | { readonly kind: "applied"; readonly detail: string; readonly change?: LevelChange }
  | { readonly kind: "halt"; readonly change: LevelChange | undefined }
  | { readonly kind: "rejected"; readonly reason: string; readonly detail: string };

const unsupported = (what: string): CommandEffect => ({
  kind: "rejected",
  reason: "unsupported_command",
  detail: `${what} is not supported by Tolaria`,
});

/**
 * Applies a verified command to `target`: EMERGENCY raises the level (HALT: the caller stops the run);
 * PAUSE pauses or resumes; OPTIMIZER sets the learning rate when it lies within the bounds
 * (`optimizer_out_of_bounds` naming the bound otherwise). Anything else is `unsupported_command`.
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
    case "rollback":
      return unsupported("a ROLLBACK command");
    case "circuitBreaker":
      return unsupported("a CIRCUIT_BREAKER command");
    case "structuralPruning":
      return unsupported("a STRUCTURAL_PRUNING command");
  }
}
