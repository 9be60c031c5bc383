import type { ActorContext } from "../runtime/actor-types.ts";
import { applyCommand, type CommandTarget } from "./command-apply.ts";
import type { CommandIntake } from "./command-intake.ts";
import { publishEmergency } from "./emergency-signal.ts";
import type { HaltOrder } from "./halt.ts";
import type { RunSafety } from "./run-safety.ts";

/**
 * Applies the waiting commands at a step boundary, in arrival order. A raised emergency level below
 * HALT is stored as an EmergencySignal before the command is reported applied. A ROLLBACK is performed
 * here (`safety.rollback`): restored, it is reported applied with the step and seeds; nothing to
 * restore, rejected (`rollback_unavailable`, `checkpoint_corrupt`); past its deadline, rejected
 * (`rollback_deadline_exceeded`) and the run halts. While paused it waits for the next command (the
 * event loop, hence the heartbeat, keeps going) until resumed, a HALT, or `signal` aborts. Returns the
 * HALT order, if one came (commands after it stay waiting).
 */
export async function commandBoundary(
  ctx: ActorContext,
  intake: CommandIntake,
  target: CommandTarget,
  safety: RunSafety,
  signal: AbortSignal,
): Promise<HaltOrder | undefined> {
  for (;;) {
    const taken = intake.take();
    for (const [i, pending] of taken.entries()) {
      const halted = (): void => {
        for (const later of taken.slice(i + 1))
          later.reject(new Error(`command ${pending.command.commandId} halted the run first`));
      };
      const effect = applyCommand(pending.command, target);
      if (effect.kind === "rejected") {
        intake.rejected(pending, effect.reason, effect.detail);
        continue;
      }
      if (effect.kind === "halt") {
        halted();
        return { kind: "command", pending, change: effect.change };
      }
      if (effect.kind === "rollback") {
        const r = await safety.rollback(effect.request, `ROLLBACK command ${pending.command.commandId}`, {
          commandId: pending.command.commandId,
          reason: effect.reason,
        });
        if (r.kind === "unavailable") intake.rejected(pending, r.reason, r.detail);
        else if (r.kind === "halt") {
          intake.rejected(pending, "rollback_deadline_exceeded", r.detail);
          halted();
          return r.order;
        } else {
          const o = r.outcome;
          intake.applied(
            pending,
            `${o.tier} rollback to step ${o.step} (start of epoch ${o.epoch}); seeds removed [${o.seedsRemoved.join(", ")}], restored [${o.seedsRestored.join(", ")}]`,
          );
        }
        continue;
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
