import { describe, expect, it } from "vitest";
import { parseSpeed } from "./replayer.ts";
import {
  checkSubjectFilter,
  namespaceOfFilters,
  parseRemap,
  remapSubject,
  subjectMatches,
} from "./subject-filter.ts";

describe("subject filters", () => {
  it("matches NATS wildcards", () => {
    expect(subjectMatches("esper.>", "esper.seed.report")).toBe(true);
    expect(subjectMatches("esper.>", "esper")).toBe(false);
    expect(subjectMatches("esper.*.report", "esper.seed.report")).toBe(true);
    expect(subjectMatches("esper.*.report", "esper.seed.x.report")).toBe(false);
    expect(subjectMatches("esper.seed", "esper.seed.report")).toBe(false);
    expect(subjectMatches("esper.seed.report", "esper.seed")).toBe(false);
    expect(subjectMatches(">", "a")).toBe(true);
  });

  it("rejects malformed filters, naming the option", () => {
    expect(checkSubjectFilter("a.*.>", "--subject")).toBe("a.*.>");
    for (const bad of ["", "a..b", "a.>.b", "a b", "a.b*", ".a"]) {
      expect(() => checkSubjectFilter(bad, "--subject")).toThrow(
        /--subject .* is not a valid NATS subject filter/,
      );
    }
  });

  it("derives the namespace only from a shared literal first token", () => {
    expect(namespaceOfFilters(["esper.>", "esper.seed.*"])).toBe("esper");
    expect(namespaceOfFilters(["esper.>", "other.>"])).toBeNull();
    expect(namespaceOfFilters([">"])).toBeNull();
    expect(namespaceOfFilters(["*.seed"])).toBeNull();
  });

  it("parses and applies a namespace remap", () => {
    const r = parseRemap("esper=test_1");
    expect(r).toEqual({ from: "esper", to: "test_1" });
    expect(remapSubject(r, "esper.seed.report")).toBe("test_1.seed.report");
    expect(remapSubject(r, "esperx.seed")).toBeNull();
    for (const bad of ["esper", "a=b=c", "=b", "a=", "a.b=c", "a=*", "a=b c"]) {
      expect(() => parseRemap(bad)).toThrow(/--remap/);
    }
  });

  it("parses replay speeds", () => {
    expect(parseSpeed("original")).toBe("original");
    expect(parseSpeed("max")).toBe("max");
    expect(parseSpeed("2.5")).toBe(2.5);
    for (const bad of ["0", "-1", "fast", "", "Infinity"]) expect(() => parseSpeed(bad)).toThrow(/--speed/);
  });
});
