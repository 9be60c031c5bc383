import { randomUUID } from "node:crypto";
import type { BusConnection } from "../../bus/connection.ts";
import { serve } from "../../bus/typed.ts";
import { SystemLimits } from "../../contracts/budgets.ts";
import type { CommandSecurity } from "../../contracts/messages/command.ts";
import {
  type ActorLifecycleState,
  type ControlReply,
  type ControlRequest,
  type ControlVerb,
  SIGNED_CONTROL_VERBS,
} from "../../contracts/messages/runtime.ts";
import type { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import type { MessageInput, MessageOf } from "../../contracts/registry.ts";
import { checkSignature, type FreshSecurityOptions, freshSecurity, sign } from "../../contracts/signing.ts";

/** What the control server needs of its actor. */
export interface ControlServerOptions {
  readonly bus: BusConnection;
  readonly actor: string;
  readonly instanceId: string;
  /** ESPER_SIGNING_KEY; without it every signed verb is refused. */
  readonly signingKey: string | undefined;
  /** The freshness and nonce settings in force (worker settings `security`). */
  readonly security: () => WorkerSettings["security"];
  readonly state: () => ActorLifecycleState;
  /** The `status` answer: a JSON-serialisable summary. */
  readonly status: () => unknown;
  /** Asks the actor to drain. */
  readonly drain: (reason: string) => void;
  /** Told of every refused request (counted, reported CRITICAL by the runtime). */
  readonly onRefused: (refusal: ControlRefusal) => void;
}

/** A refused control request. */
export interface ControlRefusal {
  readonly requestId: string;
  readonly verb: ControlVerb;
  readonly subject: string;
  readonly reason: string;
}

/** A running control server: the instance subject and the all-instances subject. */
export interface ControlServer {
  /** Requests refused so far. */
  readonly refused: () => number;
  stop(graceMs: number): Promise<void>;
}

/**
 * Serves the control verbs of one actor instance on `<ns>.<actor>.control.<instance>` (every verb)
 * and `<ns>.<actor>.control` (every instance answers: `ping` and `status` only). `ping` and `status`
 * are open; a verb in SIGNED_CONTROL_VERBS (`drain`) needs `security` with a valid HMAC under the
 * signing key, issuedAt within the freshness window (the smaller of the request's and the settings'
 * `freshnessWindowMs`, and at most `maxClockSkewMs` in the future) and a nonce not seen within
 * `nonceTtlMs`. A refused request is answered `ok: false` with the reason and reported; the actor
 * keeps running. Handlers are synchronous, so a control request is answered on arrival even when
 * the actor is busy.
 */
export function serveControl(opts: ControlServerOptions): ControlServer {
  const nonces = new NonceCache();
  let refused = 0;
  const answer = (req: ControlRequest, subject: string, addressed: boolean): ControlReply => {
    const reply = (ok: boolean, message: string): ControlReply => ({
      requestId: req.requestId,
      actor: opts.actor,
      instanceId: opts.instanceId,
      ok,
      state: opts.state(),
      message: message.slice(0, SystemLimits.maxTextLength),
    });
    const refuse = (reason: string): ControlReply => {
      refused++;
      opts.onRefused({ requestId: req.requestId, verb: req.verb, subject, reason });
      return reply(false, `refused: ${reason}`);
    };
    if (SIGNED_CONTROL_VERBS.has(req.verb)) {
      if (!addressed) {
        return refuse(
          `'${req.verb}' must be addressed to one instance (${opts.actor}.control.<instance>), not to every instance`,
        );
      }
      const problem = verifySignedRequest("ControlRequest", req, opts.signingKey, opts.security(), nonces);
      if (problem !== undefined) return refuse(problem);
    }
    switch (req.verb) {
      case "drain":
        opts.drain(`control request ${req.requestId}`);
        return reply(true, "draining");
      case "status":
        return reply(true, JSON.stringify(opts.status()));
      case "ping":
        return reply(true, "pong");
    }
  };
  const one = serve(opts.bus, "controlInstance", (req, ctx) => answer(req, ctx.subject, true), {
    params: { actor: opts.actor, instance: opts.instanceId },
  });
  const all = serve(opts.bus, "control", (req, ctx) => answer(req, ctx.subject, false), {
    params: { actor: opts.actor },
  });
  return {
    refused: () => refused,
    async stop(graceMs) {
      await Promise.all([one.stop(graceMs), all.stop(graceMs)]);
    },
  };
}

/** The request types that may carry a `security` block signed under ESPER_SIGNING_KEY. */
export type SignableRequestType = "ControlRequest" | "SettingsRequest";

/**
 * Why a signed verb's request is not acceptable, or undefined when it is: the signing key is set,
 * `security` is present with a valid HMAC, issuedAt is within the freshness window (the smaller of
 * the request's and the settings' `freshnessWindowMs`, at most `maxClockSkewMs` in the future) and
 * the nonce was not seen within `nonceTtlMs` (it is claimed).
 */
export function verifySignedRequest<T extends SignableRequestType>(
  type: T,
  req: MessageOf<T>,
  key: string | undefined,
  settings: WorkerSettings["security"],
  nonces: NonceCache,
): string | undefined {
  if (key === undefined) return "this instance has no ESPER_SIGNING_KEY, so it accepts no signed verb";
  const security = req.security;
  if (security === undefined) return `'${req.verb}' must be signed (security is missing)`;
  const check = checkSignature(
    type,
    { ...req, security } as MessageInput<T> & { security: CommandSecurity },
    key,
  );
  if (check !== "ok")
    return check === "missing_signature" ? "the signature is empty" : "the signature is invalid";
  const now = Date.now();
  const window = Math.min(security.freshnessWindowMs, settings.freshnessWindowMs);
  if (security.issuedAt - now > settings.maxClockSkewMs)
    return `issuedAt is ${security.issuedAt - now} ms in the future (more than maxClockSkewMs ${settings.maxClockSkewMs})`;
  if (now - security.issuedAt > window)
    return `the request is stale: issued ${now - security.issuedAt} ms ago, freshness window ${window} ms`;
  if (!nonces.claim(security.nonce, now, settings.nonceTtlMs, settings.nonceMaxEntries))
    return `nonce '${security.nonce}' was already used (replay)`;
  return undefined;
}

/** Nonces seen recently; bounded: expired ones go first, then the oldest. */
export class NonceCache {
  private readonly seen = new Map<string, number>();

  /** Records `nonce` and returns true, or returns false when it is still remembered. */
  claim(nonce: string, now: number, ttlMs: number, maxEntries: number): boolean {
    const expires = this.seen.get(nonce);
    if (expires !== undefined && expires > now) return false;
    this.seen.delete(nonce);
    for (const [n, e] of this.seen) {
      if (e > now && this.seen.size < maxEntries) break;
      this.seen.delete(n);
    }
    this.seen.set(nonce, now + ttlMs);
    return true;
  }
}

/** Options of {@link signedControlRequest}: a fixed request id, and what `freshSecurity` may take. */
export interface SignedControlOptions extends FreshSecurityOptions {
  readonly requestId?: string;
}

/** A ControlRequest for `verb` signed under `key` with a fresh nonce and issuedAt (for operators, supervisors and tests). */
export function signedControlRequest(
  verb: ControlVerb,
  key: string,
  opts: SignedControlOptions = {},
): ControlRequest {
  return sign(
    "ControlRequest",
    {
      requestId: opts.requestId ?? randomUUID(),
      verb,
      security: freshSecurity(opts),
    },
    key,
  );
}
