import { z } from "zod";
import { finite, id, name, text, uint32 } from "../primitives.ts";
import { CommandSecurity } from "./command.ts";
import { WorkerSettings } from "./worker-settings.ts";

/** A dotted path into the worker settings, e.g. `timeouts.decisionDeadlineMs`: camelCase keys joined by dots. */
export const SettingsPath = z
  .string()
  .max(256)
  .regex(/^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)*$/, "must be camelCase keys joined by dots");

/** A leaf value of the worker settings: a number, a boolean or a string. */
export const SettingsValue = z.union([finite, z.boolean(), text]);
export type SettingsValue = z.infer<typeof SettingsValue>;

/** One assignment of a `set`: the leaf at `path` becomes `value`. */
export const SettingsAssignment = z.strictObject({ path: SettingsPath, value: SettingsValue });
export type SettingsAssignment = z.infer<typeof SettingsAssignment>;

/** One leaf a `set` changed, with its value before and after (the audit trail). */
export const SettingsChange = z.strictObject({
  path: SettingsPath,
  from: SettingsValue,
  to: SettingsValue,
});
export type SettingsChange = z.infer<typeof SettingsChange>;

/** The verbs of the settings owner: `get` is open, `set` must be signed. */
export const SettingsVerb = z.enum(["get", "set"]);
export type SettingsVerb = z.infer<typeof SettingsVerb>;

/**
 * A request to Weatherlight, the one writer of the worker settings, on `<ns>.weatherlight.settings`.
 * `get` reads the settings in force; `set` applies `changes` (at least one) when the settings are still
 * at `expectedRevision` (when given) and needs `security` signed with ESPER_SIGNING_KEY (HMAC-SHA256
 * over the canonical encoding with an empty signature, a nonce and issuedAt, as for control `drain`).
 * `requestedBy` names who asks (the audit's "who").
 */
export const SettingsRequest = z
  .strictObject({
    requestId: id,
    verb: SettingsVerb,
    requestedBy: name,
    /** At most 32: each change becomes one attribute of the audit event. */
    changes: z.array(SettingsAssignment).max(32).optional(),
    expectedRevision: uint32.optional(),
    security: CommandSecurity.optional(),
  })
  .superRefine((r, ctx) => {
    if (r.verb === "set" && (r.changes === undefined || r.changes.length === 0))
      ctx.addIssue({ code: "custom", path: ["changes"], message: "a set needs at least one change" });
    if (r.verb === "get" && r.changes !== undefined)
      ctx.addIssue({ code: "custom", path: ["changes"], message: "a get carries no changes" });
  });
export type SettingsRequest = z.infer<typeof SettingsRequest>;

/** Why a settings request was refused: the field at fault (`<root>` for the whole request) and the reason. */
export const SettingsRefusal = z.strictObject({ field: text, reason: text });
export type SettingsRefusal = z.infer<typeof SettingsRefusal>;

/**
 * The answer to a SettingsRequest. `revision` is the settings' revision after the request (unchanged
 * when refused). `ok: true` carries the settings in force (and for a `set`, the leaves it `changed`);
 * `ok: false` carries `error` and nothing was written.
 */
export const SettingsReply = z
  .strictObject({
    requestId: id,
    ok: z.boolean(),
    revision: uint32,
    settings: WorkerSettings.optional(),
    changed: z.array(SettingsChange).max(32).optional(),
    error: SettingsRefusal.optional(),
  })
  .superRefine((r, ctx) => {
    if (r.ok && r.settings === undefined)
      ctx.addIssue({ code: "custom", path: ["settings"], message: "an ok reply carries the settings" });
    if (r.ok && r.error !== undefined)
      ctx.addIssue({ code: "custom", path: ["error"], message: "an ok reply carries no error" });
    if (!r.ok && r.error === undefined)
      ctx.addIssue({ code: "custom", path: ["error"], message: "a refusal carries the error" });
    if (!r.ok && (r.settings !== undefined || r.changed !== undefined))
      ctx.addIssue({ code: "custom", path: ["settings"], message: "a refusal carries no settings" });
  });
export type SettingsReply = z.infer<typeof SettingsReply>;
