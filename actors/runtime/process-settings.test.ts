import { describe, expect, it } from "vitest";
import { loadProcessSettings, ProcessSettingsError } from "./process-settings.ts";

function issuesOf(env: Record<string, string>): Record<string, string> {
  try {
    loadProcessSettings(env);
  } catch (error) {
    if (!(error instanceof ProcessSettingsError)) throw error;
    return Object.fromEntries(error.issues.map((i) => [i.variable, i.problem]));
  }
  throw new Error("expected a ProcessSettingsError");
}

describe("process settings", () => {
  it("applies the documented defaults to an empty environment", () => {
    const s = loadProcessSettings({ PATH: "/usr/bin" });
    expect(s).toMatchObject({
      namespace: "esper",
      natsServers: ["nats://127.0.0.1:4222"],
      natsCredentials: undefined,
      runId: undefined,
      signingKey: undefined,
      logLevel: "info",
      logPretty: undefined,
      connectTimeoutMs: 5000,
    });
    expect(s.instanceId).toMatch(new RegExp(`^[A-Za-z0-9_-]+-${process.pid}$`));
  });

  it("reads every variable", () => {
    const s = loadProcessSettings({
      ESPER_NAMESPACE: "t_1-a",
      ESPER_NATS_URL: "nats://a:4222, tls://b:4223",
      ESPER_NATS_USER: "esper",
      ESPER_NATS_PASS: "pw",
      ESPER_INSTANCE_ID: "kas-1",
      ESPER_RUN_ID: "run-20250101",
      ESPER_SIGNING_KEY: "0123456789abcdef0123",
      ESPER_LOG_LEVEL: "debug",
      ESPER_LOG_PRETTY: "true",
      ESPER_CONNECT_TIMEOUT_MS: "250",
    });
    expect(s).toEqual({
      namespace: "t_1-a",
      natsServers: ["nats://a:4222", "tls://b:4223"],
      natsCredentials: { user: "esper", pass: "pw" },
      instanceId: "kas-1",
      runId: "run-20250101",
      signingKey: "0123456789abcdef0123",
      logLevel: "debug",
      logPretty: true,
      connectTimeoutMs: 250,
    });
  });

  it("reports every bad variable at once, each with its problem", () => {
    const issues = issuesOf({
      ESPER_NAMESPACE: "Esper.Prod",
      ESPER_NATS_URL: "http://x:80",
      ESPER_INSTANCE_ID: "a b",
      ESPER_RUN_ID: "unknown",
      ESPER_SIGNING_KEY: "short",
      ESPER_LOG_LEVEL: "loud",
      ESPER_LOG_PRETTY: "yes",
      ESPER_CONNECT_TIMEOUT_MS: "5s",
    });
    expect(Object.keys(issues).sort()).toEqual([
      "ESPER_CONNECT_TIMEOUT_MS",
      "ESPER_INSTANCE_ID",
      "ESPER_LOG_LEVEL",
      "ESPER_LOG_PRETTY",
      "ESPER_NAMESPACE",
      "ESPER_NATS_URL",
      "ESPER_RUN_ID",
      "ESPER_SIGNING_KEY",
    ]);
    expect(issues.ESPER_NAMESPACE).toBe("must match [a-z0-9_-]+");
    expect(issues.ESPER_NATS_URL).toContain("'http://x:80' is not a nats://");
    expect(issues.ESPER_RUN_ID).toBe("must not be a placeholder run id");
    expect(issues.ESPER_SIGNING_KEY).toBe("must be at least 16 characters");
    expect(issues.ESPER_CONNECT_TIMEOUT_MS).toBe("must be an integer number of milliseconds");
  });

  it("names the variable in the error message and rejects out-of-range numbers and empty values", () => {
    expect(() => loadProcessSettings({ ESPER_CONNECT_TIMEOUT_MS: "0" })).toThrow(
      "invalid process settings:\n  ESPER_CONNECT_TIMEOUT_MS: must be at least 1",
    );
    expect(Object.keys(issuesOf({ ESPER_NAMESPACE: "", ESPER_RUN_ID: "" })).sort()).toEqual([
      "ESPER_NAMESPACE",
      "ESPER_RUN_ID",
    ]);
    expect(issuesOf({ ESPER_NATS_USER: "u" })).toEqual({
      ESPER_NATS_PASS: "must be set together with the other NATS credential",
    });
  });
});
