import { describe, expect, it } from "vitest";
import { isMessageType, messageSchemas } from "./registry.ts";
import {
  checkRunToken,
  RunMismatchError,
  resolveSubject,
  SubjectError,
  type SubjectKey,
  type SubjectSpec,
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
      ["command", subjectFor("esper", "command", { run: "r1", target: "kasmina" })],
      ["seedDirective", subjectFor("esper", "seedDirective", { run: "r1" })],
      ["statePacket", subjectFor("esper", "statePacket", { run: "r1" })],
      ["emergency", subjectFor("esper", "emergency", { run: "r1" })],
      ["heartbeat", subjectFor("esper", "heartbeat", { actor: "tolaria" })],
      ["control", subjectFor("esper", "control", { actor: "urza" })],
      ["deadLetter", subjectFor("esper", "deadLetter", { stream: "COMMANDS" })],
      ["telemetryEmergency", subjectFor("esper", "telemetryEmergency")],
    ];
    for (const [key, subject] of samples) expect(resolveSubject("esper", subject)?.key).toBe(key);
    expect(subjectFor("t1", "command", { run: "r1", target: "tolaria" })).toBe("t1.command.r1.tolaria");
    expect(subjectFor("t1", "seedReport", { run: "r1" })).toBe("t1.seed.r1.report");
    expect(resolveSubject("esper", "esper.command.r1.tolaria")?.params).toEqual({
      run: "r1",
      target: "tolaria",
    });
  });

  it("resolves a subject two patterns match to the one with the leftmost literal token", () => {
    expect(resolveSubject("esper", "esper.state.control")?.key).toBe("statePacket");
    expect(resolveSubject("esper", "esper.emergency.control")?.key).toBe("emergency");
    expect(resolveSubject("esper", "esper.seed.control.report")?.key).toBe("seedReport");
    expect(resolveSubject("esper", "esper.tamiyo.control")?.key).toBe("control");
    expect(resolveSubject("esper", "esper.tamiyo.control.i1")?.key).toBe("controlInstance");
  });

  it("does not resolve subjects of another namespace or unknown subjects", () => {
    expect(resolveSubject("esper", "other.command.kasmina")).toBeUndefined();
    expect(resolveSubject("esper", "esper.nothing.here")).toBeUndefined();
  });

  it("builds wildcard filters for parameterised subjects, with the given parameters fixed", () => {
    expect(subjectFilter("esper", "telemetryRaw")).toBe("esper.telemetry.raw.*");
    expect(subjectFilter("esper", "seedReport")).toBe("esper.seed.*.report");
    expect(subjectFilter("esper", "command", { target: "kasmina" })).toBe("esper.command.*.kasmina");
    expect(subjectFilter("esper", "command", { run: "r1", target: "kasmina" })).toBe(
      "esper.command.r1.kasmina",
    );
    expect(() => subjectFilter("esper", "command", { run: "a.b" })).toThrow(/subject parameter 'run'/);
  });

  it("puts the run token right after the family of every run-level subject, bound to a run id field", () => {
    const runLevel = Object.entries(subjects).filter(([, s]) => s.pattern.includes("{run}"));
    expect(runLevel.map(([k]) => k).sort()).toEqual(
      [
        "command",
        "decision",
        "emergency",
        "fieldReport",
        "seedDirective",
        "seedReport",
        "seedState",
        "statePacket",
      ].sort(),
    );
    for (const [key, spec] of Object.entries(subjects)) {
      const s: SubjectSpec = spec;
      if (!s.pattern.includes("{run}")) {
        expect(s.runField, key).toBeUndefined();
        continue;
      }
      expect(s.pattern.split(".")[1], key).toBe("{run}");
      expect(s.runField, key).not.toBeUndefined();
      if (s.runField === null || s.runField === undefined) continue;
      // A union (TamiyoDecision) must carry the field in every option.
      const schema = messageSchemas[s.message] as unknown as {
        shape?: Record<string, unknown>;
        options?: { shape: Record<string, unknown> }[];
      };
      const shapes =
        schema.options?.map((o) => o.shape) ?? (schema.shape !== undefined ? [schema.shape] : []);
      expect(shapes.length, s.message).toBeGreaterThan(0);
      for (const shape of shapes) {
        expect(Object.hasOwn(shape, s.runField), `${s.message}.${s.runField}`).toBe(true);
      }
    }
  });

  it("refuses a run-level message whose run id differs from the subject's run token", () => {
    const command = { trainingRunId: "run-a" };
    expect(() => checkRunToken("command", { run: "run-a", target: "kasmina" }, command)).not.toThrow();
    expect(() => checkRunToken("command", { run: "run-b", target: "kasmina" }, command)).toThrow(
      RunMismatchError,
    );
    expect(() => checkRunToken("emergency", { run: "run-b" }, { runId: "run-a" })).toThrow(
      /field runId 'run-a' differs from the subject's run token 'run-b'/,
    );
    expect(() => checkRunToken("seedState", { run: "run-b" }, {})).not.toThrow();
    expect(() => checkRunToken("heartbeat", { actor: "x" }, {})).not.toThrow();
  });

  it("refuses namespaces and parameters that are not single tokens", () => {
    expect(() => subjectFor("es.per", "seedReport", { run: "r1" })).toThrow(SubjectError);
    expect(() => subjectFor("esper", "command", { run: "r1", target: "a.b" })).toThrow(
      /subject parameter 'target'/,
    );
    expect(() => subjectFor("esper", "command", { run: "r.1", target: "kasmina" })).toThrow(
      /subject parameter 'run'/,
    );
    expect(() => subjectFor("esper", "command", { run: "r1", target: ">" })).toThrow(SubjectError);
  });
});
