import { describe, expect, it } from "vitest";
import { validate } from "../../contracts/codec.ts";
import {
  applySettingsChanges,
  parseAssignment,
  parseSettingsValue,
  SettingsArgumentError,
} from "./settings-owner-patch.ts";

const defaults = validate("WorkerSettings", {});

describe("parseAssignment", () => {
  it("reads a dotted path and a JSON number, boolean or string value", () => {
    expect(parseAssignment("timeouts.decisionDeadlineMs=500")).toEqual({
      path: "timeouts.decisionDeadlineMs",
      value: 500,
    });
    expect(parseAssignment("supervisor.backoffJitter=0.5").value).toBe(0.5);
    expect(parseAssignment("a.flag=true").value).toBe(true);
    expect(parseAssignment('a.b="42"').value).toBe("42");
  });

  it("keeps a value that is not JSON as text, and splits at the first '='", () => {
    expect(parseAssignment("a.mode=fast").value).toBe("fast");
    expect(parseAssignment("a.expr=x=1").value).toBe("x=1");
  });

  it("refuses an argument without '=' and a key that is not dotted camelCase", () => {
    expect(() => parseAssignment("worker.concurrency")).toThrow(/must be key=value/);
    expect(() => parseAssignment("worker..concurrency=2")).toThrow(/key 'worker\.\.concurrency' must be/);
    expect(() => parseAssignment("=2")).toThrow(SettingsArgumentError);
  });

  it("refuses JSON null, objects, arrays and non-finite numbers", () => {
    for (const raw of ["null", '{"a":1}', "[1]", "1e999"])
      expect(() => parseSettingsValue(raw)).toThrow(/must be a finite number, a boolean or a string/);
  });
});

describe("applySettingsChanges", () => {
  it("sets the leaves, increments the revision and lists each change from → to", () => {
    const r = applySettingsChanges(defaults, [
      { path: "timeouts.decisionDeadlineMs", value: 500 },
      { path: "worker.concurrency", value: 4 },
      { path: "emergency.tokenBucketCapacity", value: 10 },
    ]);
    if (!r.ok) throw new Error(r.error.reason);
    expect(r.next.timeouts.decisionDeadlineMs).toBe(500);
    expect(r.next.emergency.tokenBucketCapacity).toBe(10);
    expect(r.next.revision).toBe(defaults.revision + 1);
    expect(r.changed).toEqual([
      { path: "timeouts.decisionDeadlineMs", from: 2_000, to: 500 },
      { path: "emergency.tokenBucketCapacity", from: 120, to: 10 },
    ]);
    expect(defaults.timeouts.decisionDeadlineMs).toBe(2_000);
  });

  it("keeps the settings and the revision when nothing changes", () => {
    const r = applySettingsChanges(defaults, [{ path: "worker.concurrency", value: 4 }]);
    expect(r).toEqual({ ok: true, next: defaults, changed: [] });
  });

  it("refuses a value the schema refuses, naming the field", () => {
    expect(applySettingsChanges(defaults, [{ path: "worker.concurrency", value: 0 }])).toMatchObject({
      ok: false,
      error: { field: "worker.concurrency", reason: expect.stringMatching(/>=\s*1|at least|too small/i) },
    });
    expect(applySettingsChanges(defaults, [{ path: "worker.concurrency", value: "many" }])).toMatchObject({
      ok: false,
      error: { field: "worker.concurrency" },
    });
  });

  it("refuses merged settings that break a cross-field rule, naming the field", () => {
    const r = applySettingsChanges(defaults, [{ path: "worker.shutdownGraceMs", value: 60_000 }]);
    expect(r).toMatchObject({ ok: false, error: { field: "supervisor.shutdownGraceMs" } });
  });

  it("refuses an unknown setting, a group, a path through a leaf and the revision, naming the field", () => {
    const refusal = (path: string) =>
      applySettingsChanges(defaults, [{ path, value: 1 }]) as {
        ok: false;
        error: { field: string; reason: string };
      };
    expect(refusal("timeouts.decisionDeadline").error).toEqual({
      field: "timeouts.decisionDeadline",
      reason: "unknown setting",
    });
    expect(refusal("nothing.here").error.field).toBe("nothing");
    expect(refusal("constructor").error).toEqual({ field: "constructor", reason: "unknown setting" });
    expect(refusal("worker").error.reason).toMatch(/is a group of settings/);
    expect(refusal("worker.concurrency.max").error).toEqual({
      field: "worker.concurrency",
      reason: "is a setting, not a group of settings",
    });
    expect(refusal("revision").error.field).toBe("revision");
  });
});
