import { describe, expect, it } from "vitest";
import type { AdaptationCommand } from "../../contracts/messages/command.ts";
import { sign } from "../../contracts/signing.ts";
import { sampleOf } from "../../contracts/testing/samples.ts";
import { MissingSigningKeyError } from "./command-errors.ts";
import {
  commandRejectionReasons,
  signingKey,
  type VerifyContext,
  verifyCommand,
} from "./command-verifier.ts";
import { NonceLedger } from "./nonce-ledger.ts";

const KEY = signingKey("kasmina-test-signing-key");
const NOW = 1_800_000_000_000;

function command(
  security: Partial<AdaptationCommand["security"]> = {},
  key: string = KEY,
): AdaptationCommand {
  const base = sampleOf("AdaptationCommand");
  return sign(
    "AdaptationCommand",
    {
      ...base,
      security: { signature: "", nonce: "nonce-1", issuedAt: NOW, freshnessWindowMs: 60_000, ...security },
    },
    key,
  );
}

function context(nowMs = NOW): VerifyContext {
  return {
    key: KEY,
    ledger: new NonceLedger({ ttlMs: 300_000, maxEntries: 10_000 }),
    nowMs,
    maxClockSkewMs: 5_000,
  };
}

describe("verifyCommand", () => {
  it("accepts a fresh signed command and registers its nonce", () => {
    const ctx = context();
    expect(verifyCommand(command(), ctx)).toEqual({ ok: true });
    expect(ctx.ledger.has("nonce-1", NOW)).toBe(true);
  });

  it("rejects an empty signature with reason missing_signature", () => {
    const cmd = command();
    const unsigned = { ...cmd, security: { ...cmd.security, signature: "" } };
    expect(verifyCommand(unsigned, context())).toMatchObject({ ok: false, reason: "missing_signature" });
  });

  it("rejects a changed field or another key with reason invalid_signature", () => {
    const tampered = { ...command(), executionDeadlineMs: 123_456 };
    expect(verifyCommand(tampered, context())).toMatchObject({ ok: false, reason: "invalid_signature" });
    const otherKey = command({}, "another-signing-key-entirely");
    expect(verifyCommand(otherKey, context())).toMatchObject({ ok: false, reason: "invalid_signature" });
  });

  it("rejects a replayed nonce with reason nonce_replayed, even on a different command", () => {
    const ctx = context();
    expect(verifyCommand(command(), ctx).ok).toBe(true);
    expect(verifyCommand(command(), ctx)).toMatchObject({ ok: false, reason: "nonce_replayed" });
    const other = command({ issuedAt: NOW - 1 });
    expect(verifyCommand(other, ctx)).toMatchObject({
      ok: false,
      reason: "nonce_replayed",
      detail: "security.nonce nonce-1 was already accepted",
    });
  });

  it("rejects a command issued more than the skew ahead with reason issued_in_future", () => {
    expect(verifyCommand(command({ issuedAt: NOW + 5_000 }), context()).ok).toBe(true);
    expect(verifyCommand(command({ issuedAt: NOW + 5_001 }), context())).toEqual({
      ok: false,
      reason: "issued_in_future",
      detail: "security.issuedAt is 5001 ms ahead (allowed skew 5000 ms)",
    });
  });

  it("rejects a command older than its freshness window with reason stale_command", () => {
    expect(verifyCommand(command({ issuedAt: NOW - 60_000 }), context()).ok).toBe(true);
    expect(verifyCommand(command({ issuedAt: NOW - 60_001 }), context())).toEqual({
      ok: false,
      reason: "stale_command",
      detail: "security.issuedAt is 60001 ms old (freshness window 60000 ms)",
    });
  });

  it("rejects a command that would outlive its nonce in the ledger", () => {
    expect(verifyCommand(command({ freshnessWindowMs: 299_999 }), context()).ok).toBe(true);
    expect(verifyCommand(command({ freshnessWindowMs: 300_000 }), context())).toMatchObject({
      ok: false,
      reason: "freshness_exceeds_nonce_ttl",
    });
  });

  it("checks in the reference's order and reports the first failure", () => {
    expect(commandRejectionReasons).toEqual([
      "missing_signature",
      "invalid_signature",
      "nonce_replayed",
      "issued_in_future",
      "stale_command",
      "freshness_exceeds_nonce_ttl",
    ]);
    const stale = command({ issuedAt: NOW - 120_000 });
    const staleUnsigned = { ...stale, security: { ...stale.security, signature: "" } };
    expect(verifyCommand(staleUnsigned, context())).toMatchObject({ reason: "missing_signature" });
    expect(verifyCommand({ ...stale, executionDeadlineMs: 1 }, context())).toMatchObject({
      reason: "invalid_signature",
    });
    const ctx = context();
    verifyCommand(command(), ctx);
    expect(verifyCommand(command({ issuedAt: NOW + 10_000 }), ctx)).toMatchObject({
      reason: "nonce_replayed",
    });
    expect(
      verifyCommand(command({ issuedAt: NOW + 10_000, freshnessWindowMs: 3_600_000 }), context()),
    ).toMatchObject({ reason: "issued_in_future" });
    expect(
      verifyCommand(command({ issuedAt: NOW - 120_000, freshnessWindowMs: 60_000 }), context()),
    ).toMatchObject({
      reason: "stale_command",
    });
  });

  it("registers the nonce only after every check passed", () => {
    const ctx = context();
    expect(verifyCommand(command({ issuedAt: NOW - 120_000 }), ctx).ok).toBe(false);
    expect(ctx.ledger.size).toBe(0);
    expect(verifyCommand(command(), ctx).ok).toBe(true);
    expect(ctx.ledger.size).toBe(1);
  });
});

describe("signingKey", () => {
  it("refuses a missing or empty key: there is no default", () => {
    expect(() => signingKey(undefined)).toThrow(MissingSigningKeyError);
    expect(() => signingKey("")).toThrow("signing key is missing or empty: set ESPER_SIGNING_KEY");
    expect(signingKey("k")).toBe("k");
  });
});
