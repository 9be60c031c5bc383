import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  DependencyViolationError,
  forbidFallback,
  onViolation,
  requireArtifact,
  requireArtifactFile,
  requireId,
  requireKey,
} from "./dependency-guard.ts";

function violation(fn: () => unknown): DependencyViolationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DependencyViolationError) return error;
    throw error;
  }
  throw new Error("expected a DependencyViolationError");
}

const dir = mkdtempSync(join(tmpdir(), "esper-guard-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("dependency guard", () => {
  it("accepts real ids and rejects empty, whitespace and placeholder ids case-insensitively", () => {
    expect(requireId("seed id", "seed-7f3a")).toBe("seed-7f3a");
    for (const bad of [
      "",
      "   ",
      "unknown",
      "UNKNOWN",
      "Default",
      "placeholder",
      "none",
      "null",
      "undefined",
      "N/A",
      "tbd",
      "fallback",
      "00000000-0000-0000-0000-000000000000",
      "0",
    ]) {
      const v = violation(() => requireId("seed id", bad));
      expect(v.kind).toBe("id");
      expect(v.what).toBe("seed id");
      expect(v.message).toContain("seed id");
    }
    expect(violation(() => requireId("run id", undefined)).reason).toBe("is missing");
    expect(violation(() => requireId("run id", " r1")).reason).toMatch(/surrounding whitespace/);
  });

  it("requires artifacts to be present and artifact files to exist and be non-empty", () => {
    const obj = { graph: 1 };
    expect(requireArtifact("policy model", obj)).toBe(obj);
    expect(requireArtifact("zero is present", 0)).toBe(0);
    expect(violation(() => requireArtifact("policy model", undefined))).toMatchObject({
      kind: "artifact",
      what: "policy model",
      reason: "is missing",
    });
    const file = join(dir, "k.onnx");
    writeFileSync(file, "x");
    expect(requireArtifactFile("kernel", file)).toBe(file);
    const empty = join(dir, "empty.onnx");
    writeFileSync(empty, "");
    expect(violation(() => requireArtifactFile("kernel", empty)).reason).toMatch(/empty file/);
    expect(violation(() => requireArtifactFile("kernel", join(dir, "nope"))).reason).toMatch(/not found at/);
    expect(violation(() => requireArtifactFile("kernel", dir)).reason).toMatch(/not a file/);
    expect(violation(() => requireArtifactFile("kernel", "")).reason).toBe("has no path");
  });

  it("requires keys without echoing their value", () => {
    expect(requireKey("ESPER_SIGNING_KEY", "a-real-key-of-some-length")).toBe("a-real-key-of-some-length");
    expect(violation(() => requireKey("ESPER_SIGNING_KEY", undefined)).message).toBe(
      "dependency violation (key): ESPER_SIGNING_KEY is not set",
    );
    expect(violation(() => requireKey("ESPER_SIGNING_KEY", "")).reason).toBe("is empty");
    const v = violation(() => requireKey("ESPER_SIGNING_KEY", "ChangeMe"));
    expect(v.reason).toBe("is a placeholder value");
    expect(v.message).not.toContain("ChangeMe");
  });

  it("forbidFallback always throws", () => {
    expect(violation(() => forbidFallback("dataset 'fashion-mnist'", "would switch to xor"))).toMatchObject({
      kind: "fallback",
      what: "dataset 'fashion-mnist'",
      reason: "would switch to xor",
    });
  });

  it("tells onViolation listeners before throwing, until they unsubscribe", () => {
    const seen: DependencyViolationError[] = [];
    const off = onViolation((v) => seen.push(v));
    violation(() => requireId("blueprint id", "tbd"));
    expect(seen.map((v) => v.what)).toEqual(["blueprint id"]);
    off();
    violation(() => requireId("blueprint id", "tbd"));
    expect(seen).toHaveLength(1);
  });
});
