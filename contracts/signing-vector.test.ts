import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CommandType, SeedOperation } from "./enums.ts";
import type { AdaptationCommand } from "./messages/command.ts";
import { checkSignature, hmacSignature, sign, signedBytes } from "./signing.ts";

/** A fixed key and a fixed SEED/GERMINATE command: its canonical bytes and signature must never change. */
const KEY = "esper-test-vector-key";
const command: AdaptationCommand = {
  version: 1,
  commandId: "cmd-0001",
  commandType: CommandType.SEED,
  trainingRunId: "run-vector",
  targetSeedId: "s1-g0",
  executionDeadlineMs: 5000,
  issuedBy: "tamiyo",
  payload: {
    kind: "seed",
    operation: SeedOperation.GERMINATE,
    blueprintId: "wide-single-layer-i4-h64-s1",
    blendMode: 1,
    alpha: 0,
    schedule: { shape: 1, steps: 20, start: 0, end: 1 },
    resume: false,
    includeTeacher: false,
    parameters: {},
  },
  security: { signature: "", nonce: "nonce-0001", issuedAt: 1_796_063_303_540, freshnessWindowMs: 60_000 },
};

const hex = (b64: string) => Buffer.from(b64, "base64").toString("hex");

describe("command signing test vector", () => {
  it("is HMAC-SHA256: RFC 4231 test case 2", () => {
    const data = new TextEncoder().encode("what do ya want for nothing?");
    expect(hex(hmacSignature(data, "Jefe"))).toBe(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
  });

  it("signs the fixed command to the fixed signature over its fixed canonical bytes", () => {
    expect(createHash("sha256").update(signedBytes("AdaptationCommand", command)).digest("hex")).toBe(
      "8f59a99a72a53a8bba847d731f8e954ef21303d70f0c8020820c0522a18f4c36",
    );
    const signed = sign("AdaptationCommand", command, KEY);
    expect(hex(signed.security.signature)).toBe(
      "fb861781660ba57eec945000e89ee6b082caf6dbac9da427b5f10930d297915f",
    );
    expect(checkSignature("AdaptationCommand", signed, KEY)).toBe("ok");
  });

  it("signs the command with its signature blanked: a stale signature does not change the result", () => {
    const stale = { ...command, security: { ...command.security, signature: `${"A".repeat(43)}=` } };
    expect(sign("AdaptationCommand", stale, KEY).security.signature).toBe(
      sign("AdaptationCommand", command, KEY).security.signature,
    );
  });
});
