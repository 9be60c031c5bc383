import type { AdaptationCommand } from "../../contracts/messages/command.ts";
import { checkSignature } from "../../contracts/signing.ts";
import { MissingSigningKeyError } from "./command-errors.ts";
import type { NonceLedger } from "./nonce-ledger.ts";

/** A non-empty HMAC key, made only by `signingKey`. */
export type SigningKey = string & { readonly __brand: "SigningKey" };

/** The key from the environment (ESPER_SIGNING_KEY); throws MissingSigningKeyError when it is unset or empty. */
export function signingKey(value: string | undefined): SigningKey {
  if (value === undefined || value.length === 0) throw new MissingSigningKeyError();
  return value as SigningKey;
}

/** What a verification reads besides the command: the key, the nonce ledger, the time and the allowed clock skew (settings `security.maxClockSkewMs`). */
export interface VerifyContext {
  readonly key: SigningKey;
  readonly ledger: NonceLedger;
  readonly nowMs: number;
  readonly maxClockSkewMs: number;
}

/** One named check: a detail string when the command fails it, undefined when it passes. */
interface CommandCheck {
  readonly reason: string;
  readonly check: (cmd: AdaptationCommand, ctx: VerifyContext) => string | undefined;
}

/**
 * The checks in the reference's order. `missing_command_id` and `missing_timestamp` of the reference
 * cannot fail here: the contract requires a non-empty commandId and nonce and an issuedAt. The last
 * check is ours: a command that would stay fresh after the ledger forgets its nonce could be replayed.
 */
const commandChecks = [
  {
    reason: "missing_signature",
    check: (cmd) => (cmd.security.signature === "" ? "security.signature is empty" : undefined),
  },
  {
    reason: "invalid_signature",
    check: (cmd, ctx) =>
      checkSignature("AdaptationCommand", cmd, ctx.key) === "ok"
        ? undefined
        : "security.signature does not match the HMAC of the command",
  },
  {
    reason: "nonce_replayed",
    check: (cmd, ctx) =>
      ctx.ledger.has(cmd.security.nonce, ctx.nowMs)
        ? `security.nonce ${cmd.security.nonce} was already accepted`
        : undefined,
  },
  {
    reason: "issued_in_future",
    check: (cmd, ctx) => {
      const ahead = cmd.security.issuedAt - ctx.nowMs;
      return ahead > ctx.maxClockSkewMs
        ? `security.issuedAt is ${ahead} ms ahead (allowed skew ${ctx.maxClockSkewMs} ms)`
        : undefined;
    },
  },
  {
    reason: "stale_command",
    check: (cmd, ctx) => {
      const age = ctx.nowMs - cmd.security.issuedAt;
      return age > cmd.security.freshnessWindowMs
        ? `security.issuedAt is ${age} ms old (freshness window ${cmd.security.freshnessWindowMs} ms)`
        : undefined;
    },
  },
  {
    reason: "freshness_exceeds_nonce_ttl",
    check: (cmd, ctx) => {
      const freshUntil = cmd.security.issuedAt + cmd.security.freshnessWindowMs;
      const rememberedUntil = ctx.nowMs + ctx.ledger.ttlMs;
      return freshUntil >= rememberedUntil
        ? `security.freshnessWindowMs ${cmd.security.freshnessWindowMs} keeps the command fresh until ${freshUntil}, but its nonce is kept only until ${rememberedUntil} (nonce TTL ${ctx.ledger.ttlMs} ms)`
        : undefined;
    },
  },
] as const satisfies readonly CommandCheck[];

/** Why a command was rejected, one name per check, in check order. */
export type CommandRejectionReason = (typeof commandChecks)[number]["reason"];

/** The rejection reasons in the order they are checked. */
export const commandRejectionReasons: readonly CommandRejectionReason[] = commandChecks.map((c) => c.reason);

/** The outcome of `verifyCommand`. */
export type CommandVerification =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: CommandRejectionReason; readonly detail: string };

/**
 * Runs the checks in order and returns the first failure. Only a command that passes every check has
 * its nonce registered in the ledger, so a rejected command never blocks a later valid one.
 */
export function verifyCommand(cmd: AdaptationCommand, ctx: VerifyContext): CommandVerification {
  for (const { reason, check } of commandChecks) {
    const detail = check(cmd, ctx);
    if (detail !== undefined) return { ok: false, reason, detail };
  }
  ctx.ledger.register(cmd.security.nonce, ctx.nowMs);
  return { ok: true };
}
