import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { encode } from "./codec.ts";
import type { CommandSecurity } from "./messages/command.ts";
import type { MessageInput, MessageOf, MessageType } from "./registry.ts";

/** A message type whose messages carry a `security.signature` (commands, signed control requests). */
type SignedInput<T extends MessageType> = MessageInput<T> & {
  readonly security: { readonly signature: string };
};

/** The bytes that are signed: the canonical (validated msgpack) encoding of `msg` with `security.signature: ""`. */
export function signedBytes<T extends MessageType>(type: T, msg: SignedInput<T>): Uint8Array {
  return encode(type, { ...msg, security: { ...msg.security, signature: "" } } as MessageInput<T>);
}

/** HMAC-SHA256 (base64) of `bytes` under `key`. Throws a RangeError for an empty key: there is no default key. */
export function hmacSignature(bytes: Uint8Array, key: string): string {
  if (key.length === 0) throw new RangeError("signing key is empty: set ESPER_SIGNING_KEY");
  return createHmac("sha256", key).update(bytes).digest("base64");
}

/** Returns `msg` with `security.signature` set to the HMAC of its canonical encoding. */
export function sign<T extends MessageType>(type: T, msg: SignedInput<T>, key: string): MessageOf<T> {
  const signature = hmacSignature(signedBytes(type, msg), key);
  return { ...msg, security: { ...msg.security, signature } } as MessageOf<T>;
}

/** Why a signature check failed, or `ok`. */
export type SignatureCheck = "ok" | "missing_signature" | "invalid_signature";

/** Checks `msg.security.signature` against the HMAC of its canonical encoding, in constant time. */
export function checkSignature<T extends MessageType>(
  type: T,
  msg: SignedInput<T>,
  key: string,
): SignatureCheck {
  const given = msg.security.signature;
  if (given === "") return "missing_signature";
  const expected = Buffer.from(hmacSignature(signedBytes(type, msg), key), "base64");
  const actual = Buffer.from(given, "base64");
  return actual.length === expected.length && timingSafeEqual(actual, expected) ? "ok" : "invalid_signature";
}

/** What a fresh signed request may fix in advance (tests); the rest is fresh. */
export interface FreshSecurityOptions {
  /** Default a random UUID. */
  readonly nonce?: string;
  /** Default now. */
  readonly issuedAt?: number;
  /** Default 30 s. */
  readonly freshnessWindowMs?: number;
}

/** The `security` block of a request about to be signed: empty signature, a fresh nonce, issued now. */
export function freshSecurity(opts: FreshSecurityOptions = {}): CommandSecurity {
  return {
    signature: "",
    nonce: opts.nonce ?? randomUUID(),
    issuedAt: opts.issuedAt ?? Date.now(),
    freshnessWindowMs: opts.freshnessWindowMs ?? 30_000,
  };
}
