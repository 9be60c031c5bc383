import { performance } from "node:perf_hooks";
import { EmergencyLevel } from "../../contracts/enums.ts";
import type { ActorContext } from "../runtime/actor-types.ts";
import type { CheckpointEntry } from "./checkpoint-manifest.ts";
import { CheckpointStore } from "./checkpoints.ts";
import type { HaltOrder } from "./command-boundary.ts";
import { publishEmergency } from "./emergency-signal.ts";
import type { Trainer } from "./trainer.ts";

/**
 * Halts at the step boundary where `order` was taken: writes the final checkpoint into `dir`
 * (checkpoints.ts, timed as the profiler's `checkpoint` phase), stores an EmergencySignal level HALT
 * whose reason names the command, and reports the command applied. Returns the reason to finish with.
 */
export async function haltRun(
  ctx: ActorContext,
  trainer: Trainer,
  dir: string,
  order: HaltOrder,
): Promise<{ reason: string; checkpoint: CheckpointEntry }> {
  const { command } = order.pending;
  const started = performance.now();
  const store = await CheckpointStore.open(dir);
  const checkpoint = await store.write(trainer.snapshot(), trainer.epoch, Date.now());
  trainer.profiler.record("checkpoint", started, performance.now() - started);
  const why = command.payload.kind === "emergency" ? command.payload.reason : "HALT";
  const reason = `HALT command ${command.commandId} from ${command.issuedBy}: ${why}`;
  await publishEmergency(ctx, EmergencyLevel.HALT, reason, {
    commandId: command.commandId,
    checkpoint: checkpoint.file,
    step: String(checkpoint.step),
  });
  ctx.log.warn({ commandId: command.commandId, checkpoint }, "halted with a final checkpoint");
  return { reason, checkpoint };
}
