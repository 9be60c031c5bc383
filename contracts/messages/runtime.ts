import { z } from "zod";
import { count, id, name, text, timestampMs } from "../primitives.ts";

/** Lifecycle states of an actor process. */
export const ActorLifecycleState = z.enum([
  "created",
  "preflight",
  "running",
  "draining",
  "stopped",
  "failed",
]);
export type ActorLifecycleState = z.infer<typeof ActorLifecycleState>;

/** Liveness of one actor instance, published on `<ns>.heartbeat.<actor>`. */
export const Heartbeat = z.strictObject({
  actor: name,
  instanceId: id,
  runId: id.optional(),
  pid: z.number().int().min(1),
  state: ActorLifecycleState,
  uptimeMs: count,
  timestampMs,
  lastError: text.optional(),
  mailboxDepths: z
    .record(name, count)
    .refine((m) => Object.keys(m).length <= 64, "must have at most 64 entries"),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

/** Admin verbs every actor answers on `<ns>.<actor>.control`. */
export const ControlVerb = z.enum(["ping", "status", "drain"]);
export type ControlVerb = z.infer<typeof ControlVerb>;

/** An admin request to one actor. */
export const ControlRequest = z.strictObject({ requestId: id, verb: ControlVerb });
export type ControlRequest = z.infer<typeof ControlRequest>;

/** The answer to a ControlRequest. */
export const ControlReply = z.strictObject({
  requestId: id,
  actor: name,
  instanceId: id,
  ok: z.boolean(),
  state: ActorLifecycleState,
  message: text,
});
export type ControlReply = z.infer<typeof ControlReply>;
