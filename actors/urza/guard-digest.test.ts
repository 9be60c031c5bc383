import { describe, expect, it } from "vitest";
import { buildBlueprint } from "../../nn/blueprints/artifact.ts";
import { guardDigest, sameContent } from "./guard-digest.ts";

const { descriptor } = buildBlueprint({ kind: "gated-unit", inputWidth: 4, hiddenWidth: 3, initSeed: 1 }, 1);

describe("guard digest", () => {
  it("ignores createdAt and the order of keys", () => {
    const later = { ...descriptor, createdAt: 2 };
    const reordered = Object.fromEntries(Object.entries(descriptor).reverse()) as typeof descriptor;
    expect(guardDigest(later)).toBe(guardDigest(descriptor));
    expect(guardDigest(reordered)).toBe(guardDigest(descriptor));
    expect(sameContent(later, descriptor)).toBe(true);
  });

  it("changes with the artifact, the widths, the bounds and the risk", () => {
    const base = guardDigest(descriptor);
    const variants = [
      { ...descriptor, artifactSha256: "0".repeat(64) },
      { ...descriptor, inputWidth: 5 },
      { ...descriptor, risk: 0.31 },
      { ...descriptor, allowedParameters: { inputWidth: { minValue: 1, maxValue: 8 } } },
    ];
    for (const v of variants) {
      expect(guardDigest(v)).not.toBe(base);
      expect(sameContent(v, descriptor)).toBe(false);
    }
  });
});
