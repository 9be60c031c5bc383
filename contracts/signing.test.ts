import { describe, expect, it } from "vitest";
import { checkSignature, sign } from "./signing.ts";
import { sampleOf } from "./testing/samples.ts";

const KEY = "test-signing-key";

describe("command signing", () => {
  const unsigned = sampleOf("AdaptationCommand");

  it("a signed command verifies under the same key", () => {
    const signed = sign("AdaptationCommand", unsigned, KEY);
    expect(signed.security.signature).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(checkSignature("AdaptationCommand", signed, KEY)).toBe("ok");
  });

  it("rejects an empty signature as missing_signature", () => {
    const blank = { ...unsigned, security: { ...unsigned.security, signature: "" } };
    expect(checkSignature("AdaptationCommand", blank, KEY)).toBe("missing_signature");
  });

  it("rejects a changed field, another key and a truncated signature as invalid_signature", () => {
    const signed = sign("AdaptationCommand", unsigned, KEY);
    expect(checkSignature("AdaptationCommand", { ...signed, executionDeadlineMs: 1 }, KEY)).toBe(
      "invalid_signature",
    );
    expect(checkSignature("AdaptationCommand", signed, "other-key")).toBe("invalid_signature");
    const short = { ...signed, security: { ...signed.security, signature: `${"A".repeat(43)}=` } };
    expect(checkSignature("AdaptationCommand", short, KEY)).toBe("invalid_signature");
  });

  it("refuses to sign with an empty key", () => {
    expect(() => sign("AdaptationCommand", unsigned, "")).toThrow(/ESPER_SIGNING_KEY/);
  });
});
