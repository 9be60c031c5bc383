import { describe, expect, it } from "vitest";
import { isMessageType } from "./registry.ts";
import {
  resolveSubject,
  SubjectError,
  type SubjectKey,
  subjectFilter,
  subjectFor,
  subjects,
} from "./subjects.ts";

describe("subject registry", () => {
  it("binds every subject to a registered message type (and request subjects to a reply type)", () => {
    for (const spec of Object.values(subjects)) {
      expect(isMessageType(spec.message)).toBe(true);
      if (spec.transport === "request") expect("reply" in spec && isMessageType(spec.reply)).toBe(true);
    }
  });

  it("gives each concrete subject back its one registry entry", () => {
    const samples: [SubjectKey, string][] = [
      ["tamiyoEvaluate", subjectFor("esper", "tamiyoEvaluate")],
      ["command", subjectFor("esper", "command", { target: "kasmina" })],
      ["heartbeat", subjectFor("esper", "heartbeat", { actor: "tolaria" })],
      ["control", subjectFor("esper", "control", { actor: "urza" })],
      ["deadLetter", subjectFor("esper", "deadLetter", { stream: "COMMANDS" })],
      ["telemetryEmergency", subjectFor("esper", "telemetryEmergency")],
    ];
    for (const [key, subject] of samples) expect(resolveSubject("esper", subject)?.key).toBe(key);
    expect(subjectFor("t1", "command", { target: "tolaria" })).toBe("t1.command.tolaria");
    expect(resolveSubject("esper", "esper.command.tolaria")?.params).toEqual({ target: "tolaria" });
  });

  it("does not resolve subjects of another namespace or unknown subjects", () => {
    expect(resolveSubject("esper", "other.command.kasmina")).toBeUndefined();
    expect(resolveSubject("esper", "esper.nothing.here")).toBeUndefined();
  });

  it("builds wildcard filters for parameterised subjects", () => {
    expect(subjectFilter("esper", "telemetryRaw")).toBe("esper.telemetry.raw.*");
    expect(subjectFilter("esper", "seedReport")).toBe("esper.seed.report");
  });

  it("refuses namespaces and parameters that are not single tokens", () => {
    expect(() => subjectFor("es.per", "seedReport")).toThrow(SubjectError);
    expect(() => subjectFor("esper", "command", { target: "a.b" })).toThrow(/subject parameter 'target'/);
    expect(() => subjectFor("esper", "command", { target: ">" })).toThrow(SubjectError);
  });
});
