import { performance } from "node:perf_hooks";
import { EmergencyLevel } from "../../contracts/enums.ts";
import type { ActorContext } from "../runtime/actor-types.ts";
import type { CheckpointEntry } from "./checkpoint-manifest.ts";
import type { CheckpointStore } from "./checkpoints.ts";
import type { PendingCommand } from "./command-intake.ts";
import type { LevelChange } from "./emergency-levels.ts";
import { publishEmergency } from "./emergency-signal.ts";
import type { Trainer } from "./trainer.ts";

/**
 * Why the run halts: a HALT command taken at a step boundary, not yet settled (the caller checkpoints,
 * then settles it), or an automatic trigger (failed-epoch streak, rollback deadline) with its reason.
 */
export type HaltOrder =
  | { readonly kind: "command"; readonly pending: PendingCommand; readonly change: LevelChange | undefined }
  | {
      readonly kind: "automatic";
      readonly reason: string;
      readonly attributes: Readonly<Record<string, string>>;
    };

/**
 * Halts at the step boundary where `order` was taken: writes the final checkpoint into `store`
 * (checkpoints.ts, timed as the profiler's `checkpoint` phase), stores an EmergencySignal level HALT
 * whose reason names the command or the automatic trigger (attribute mode `command` or `automatic`).
 * Returns the reason to finish with.
 */
export async function haltRun(
  ctx: ActorContext,
  trainer: Trainer,
  store: CheckpointStore,
  order: HaltOrder,
): Promise<{ reason: string; checkpoint: CheckpointEntry }> {
  const started = performance.now();
  const checkpoint = await store.write(trainer.snapshot(), trainer.epoch, Date.now());
  trainer.profiler.record("checkpoint", started, performance.now() - started);
  let reason: string;
  let attributes: Record<string, string>;
  if (order.kind === "command") {
    const { command } = order.pending;
    const why = command.payload.kind === "emergency" ? command.payload.reason : "HALT";
    reason = `HALT command ${command.commandId} from ${command.issuedBy}: ${why}`;
    attributes = { commandId: command.commandId, mode: "command" };
  } else {
    reason = `HALT (automatic): ${order.reason}`;
    attributes = { ...order.attributes, mode: "automatic" };
  }
  await publishEmergency(ctx, EmergencyLevel.HALT, reason, {
    ...attributes,
    checkpoint: checkpoint.file,
    step: String(checkpoint.step),
  });
  ctx.log.warn({ ...attributes, checkpoint }, "halted with a final checkpoint");
  return { reason, checkpoint };
}
