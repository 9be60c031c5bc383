import { z } from "zod";
import { count, id, name, text, timestampMs } from "../primitives.ts";
import { CommandSecurity } from "./command.ts";

/**
 * Lifecycle states of an actor process: created → preflight → starting (its `start()` runs) →
 * running (ready) → draining → stopped, or failed.
 */
export const ActorLifecycleState = z.enum([
  "created",
  "preflight",
  "starting",
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
  /** The lifecycle phase; `running` only once the actor's `start()` has resolved. */
  state: ActorLifecycleState,
  uptimeMs: count,
  timestampMs,
  /** When the actor became ready (entered `running`); absent before. */
  readyAtMs: timestampMs.optional(),
  lastError: text.optional(),
  mailboxDepths: z
    .record(name, count)
    .refine((m) => Object.keys(m).length <= 64, "must have at most 64 entries"),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

/**
 * Admin verbs every actor answers on `<ns>.<actor>.control.<instance>` (one instance) and
 * `<ns>.<actor>.control` (every instance: `ping` and `status` only). `ping` and `status` are open;
 * `drain` changes state and must be signed.
 */
export const ControlVerb = z.enum(["ping", "status", "drain"]);
export type ControlVerb = z.infer<typeof ControlVerb>;

/** The verbs that change an actor's state: they need a fresh signature under ESPER_SIGNING_KEY. */
export const SIGNED_CONTROL_VERBS: ReadonlySet<ControlVerb> = new Set(["drain"]);

/**
 * An admin request to an actor. `security` (HMAC-SHA256 over the canonical encoding with an empty
 * signature, a nonce and issuedAt, as for commands) is required for the verbs in SIGNED_CONTROL_VERBS.
 */
export const ControlRequest = z.strictObject({
  requestId: id,
  verb: ControlVerb,
  security: CommandSecurity.optional(),
});
export type ControlRequest = z.infer<typeof ControlRequest>;

/** The answer to a ControlRequest; `ok: false` with the reason in `message` when it was refused. */
export const ControlReply = z.strictObject({
  requestId: id,
  actor: name,
  instanceId: id,
  ok: z.boolean(),
  state: ActorLifecycleState,
  message: text,
});
export type ControlReply = z.infer<typeof ControlReply>;
