import type { ActorContext } from "../runtime/actor-types.ts";
import { applyCommand, type CommandTarget } from "./command-apply.ts";
import type { CommandIntake, PendingCommand } from "./command-intake.ts";
import type { LevelChange } from "./emergency-levels.ts";
import { publishEmergency } from "./emergency-signal.ts";

/** A HALT command taken at a step boundary, not yet settled: the caller checkpoints, then settles it. */
export interface HaltOrder {
  readonly pending: PendingCommand;
  readonly change: LevelChange | undefined;
}

/**
 * Applies the waiting commands at a step boundary, in arrival order. A raised emergency level below
 * HALT is stored as an EmergencySignal before the command is reported applied. While paused it waits
 * for the next command (the event loop, hence the heartbeat, keeps going) until resumed, a HALT, or
 * `signal` aborts. Returns the HALT order, if one came (commands after it stay waiting).
 */
export async function commandBoundary(
  ctx: ActorContext,
  intake: CommandIntake,
  target: CommandTarget,
  signal: AbortSignal,
): Promise<HaltOrder | undefined> {
  for (;;) {
    const taken = intake.take();
    for (const [i, pending] of taken.entries()) {
      const effect = applyCommand(pending.command, target);
      if (effect.kind === "rejected") {
        intake.rejected(pending, effect.reason, effect.detail);
        continue;
      }
      if (effect.kind === "halt") {
        for (const later of taken.slice(i + 1))
          later.reject(new Error(`command ${pending.command.commandId} halted the run first`));
        return { pending, change: effect.change };
      }
      if (effect.change !== undefined)
        await publishEmergency(ctx, effect.change.to, effect.change.reason, {
          commandId: pending.command.commandId,
        });
      intake.applied(pending, effect.detail);
    }
    if (!target.paused || signal.aborted) return undefined;
    await intake.arrival(signal);
  }
}
