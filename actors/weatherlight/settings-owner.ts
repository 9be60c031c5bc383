import { randomUUID } from "node:crypto";
import { KvRevisionConflictError, openBucket } from "../../bus/kv.ts";
import { SystemLimits } from "../../contracts/budgets.ts";
import type {
  SettingsAssignment,
  SettingsChange,
  SettingsReply,
  SettingsRequest,
} from "../../contracts/messages/settings-request.ts";
import { type FreshSecurityOptions, freshSecurity, sign } from "../../contracts/signing.ts";
import { WORKER_SETTINGS_KEY } from "../../contracts/stores.ts";
import type { ActorContext } from "../runtime/actor-types.ts";
import { NonceCache, verifySignedRequest } from "../runtime/control-server.ts";
import { applySettingsChanges } from "./settings-owner-patch.ts";

/** The queue group of the settings endpoint: one Weatherlight of a namespace answers each request. */
export const SETTINGS_QUEUE = "weatherlight";

/** The running settings owner's counters. */
export interface SettingsOwner {
  /** Sets written so far. */
  changes(): number;
  /** Requests refused so far (bad signature, stale revision, invalid settings, a concurrent writer). */
  refused(): number;
}

/**
 * Serves `<ns>.weatherlight.settings` (queue group `weatherlight`, one request at a time): `get`
 * answers the stored worker settings; `set` must be signed (ESPER_SIGNING_KEY, fresh, unused nonce),
 * applies its changes to the stored settings (`applySettingsChanges`: every leaf known, the merged
 * settings valid, `revision` incremented) and writes them with a compare-and-set on the key's store
 * revision, so a concurrent writer makes it a conflict and nothing is written. Each write is audited as
 * INFO `weatherlight.settings.changed` (who, request, revision, each leaf from → to); each refusal is
 * answered `ok: false` with the field and reason, counted and reported as WARNING
 * `weatherlight.settings.refused` (CRITICAL when the signature check failed). Every actor, this one
 * included, applies the written settings through its settings watch.
 */
export async function startSettingsOwner(ctx: ActorContext): Promise<SettingsOwner> {
  const bucket = await openBucket(ctx.bus, "settings");
  const nonces = new NonceCache();
  let changes = 0;
  let refused = 0;

  const stored = async () => {
    const v = await bucket.get(WORKER_SETTINGS_KEY);
    if (v === undefined)
      throw new Error(
        `${bucket.name}/${WORKER_SETTINGS_KEY} holds no worker settings: Weatherlight writes them at its start`,
      );
    return v;
  };

  const refuse = (
    req: SettingsRequest,
    revision: number,
    field: string,
    reason: string,
    level: "WARNING" | "CRITICAL",
  ): SettingsReply => {
    refused++;
    ctx.telemetry.event("weatherlight.settings.refused", {
      level,
      description: clip(
        `settings ${req.verb} ${req.requestId} by ${req.requestedBy} refused: ${field}: ${reason}`,
      ),
      attributes: {
        requestId: req.requestId,
        requestedBy: req.requestedBy,
        field: clip(field),
        reason: clip(reason),
        refusedTotal: String(refused),
      },
    });
    return {
      requestId: req.requestId,
      ok: false,
      revision,
      error: { field: clip(field), reason: clip(reason) },
    };
  };

  const set = async (req: SettingsRequest): Promise<SettingsReply> => {
    const problem = verifySignedRequest(
      "SettingsRequest",
      req,
      ctx.process.signingKey,
      ctx.settings().security,
      nonces,
    );
    const current = await stored();
    const revision = current.value.revision;
    if (problem !== undefined) return refuse(req, revision, "security", problem, "CRITICAL");
    if (req.expectedRevision !== undefined && req.expectedRevision !== revision)
      return refuse(
        req,
        revision,
        "expectedRevision",
        `the settings are at revision ${revision}, not ${req.expectedRevision}: read them again`,
        "WARNING",
      );
    const patch = applySettingsChanges(current.value, req.changes ?? []);
    if (!patch.ok) return refuse(req, revision, patch.error.field, patch.error.reason, "WARNING");
    if (patch.changed.length === 0)
      return { requestId: req.requestId, ok: true, revision, settings: current.value, changed: [] };
    try {
      await bucket.update(WORKER_SETTINGS_KEY, patch.next, current.revision);
    } catch (error) {
      if (!(error instanceof KvRevisionConflictError)) throw error;
      return refuse(
        req,
        revision,
        "revision",
        `another writer changed the settings meanwhile (store revision ${current.revision} moved on): read them again`,
        "WARNING",
      );
    }
    changes++;
    audit(req, revision, patch.next.revision, patch.changed);
    return {
      requestId: req.requestId,
      ok: true,
      revision: patch.next.revision,
      settings: patch.next,
      changed: [...patch.changed],
    };
  };

  const audit = (req: SettingsRequest, from: number, to: number, changed: readonly SettingsChange[]) => {
    const lines = changed.map((c) => `${c.path} ${String(c.from)} → ${String(c.to)}`);
    ctx.telemetry.event("weatherlight.settings.changed", {
      level: "INFO",
      description: clip(`settings revision ${from} → ${to} by ${req.requestedBy}: ${lines.join(", ")}`),
      attributes: {
        requestId: req.requestId,
        requestedBy: req.requestedBy,
        previousRevision: String(from),
        revision: String(to),
        ...Object.fromEntries(
          changed.map((c) => [`change.${c.path}`, clip(`${String(c.from)} → ${String(c.to)}`)]),
        ),
      },
    });
    ctx.log.info(
      { requestId: req.requestId, requestedBy: req.requestedBy, revision: to, changed },
      "settings changed",
    );
  };

  ctx.serve(
    "weatherlightSettings",
    async (req) => {
      if (req.verb === "set") return set(req);
      const current = await stored();
      return {
        requestId: req.requestId,
        ok: true,
        revision: current.value.revision,
        settings: current.value,
      };
    },
    { queue: SETTINGS_QUEUE, mailbox: "settings", mode: "ordered" },
  );
  return { changes: () => changes, refused: () => refused };
}

function clip(s: string): string {
  return s.slice(0, SystemLimits.maxTextLength);
}

/** Options of {@link settingsSetRequest}. */
export interface SettingsSetOptions extends FreshSecurityOptions {
  readonly requestedBy: string;
  readonly expectedRevision?: number;
  readonly requestId?: string;
}

/** A `set` SettingsRequest of `changes`, signed under `key` with a fresh nonce and issuedAt (for operators and tests). */
export function settingsSetRequest(
  changes: readonly SettingsAssignment[],
  key: string,
  opts: SettingsSetOptions,
): SettingsRequest {
  return sign(
    "SettingsRequest",
    {
      requestId: opts.requestId ?? randomUUID(),
      verb: "set",
      requestedBy: opts.requestedBy,
      changes: [...changes],
      ...(opts.expectedRevision !== undefined ? { expectedRevision: opts.expectedRevision } : {}),
      security: freshSecurity(opts),
    },
    key,
  );
}
