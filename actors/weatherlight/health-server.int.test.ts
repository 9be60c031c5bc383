import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HealthServer, HealthServerError, startHealthServer } from "./health-server.ts";
import { assessSystemHealth, type HealthInputs } from "./system-health.ts";
import { HealthSnapshot } from "./system-health-schema.ts";
import type { TelemetryRouterStats } from "./telemetry-router.ts";

const router: TelemetryRouterStats = {
  received: 12,
  rejected: 3,
  rejectedByField: { "metrics.0.value": 2, 'odd"field\\': 1 },
  stored: { normal: 10, emergency: 2 },
  duplicates: 1,
  throttled: 4,
  byPriority: { NORMAL: 6, CRITICAL: 6 },
  bySource: { tolaria: { received: 8, throttled: 4 }, kasmina: { received: 4, throttled: 0 } },
  queueDepth: 7,
  inFlight: 2,
  dropped: 5,
  discarded: 0,
  publishRetries: 6,
  publishFailures: 1,
  emergencyTokens: 99.5,
};

/** The inputs the test changes: both children ready and beating unless a test says otherwise. */
let inputs: HealthInputs;
const operational = (): HealthInputs => ({
  nowMs: 50_000,
  runId: "run-http",
  actors: ["urza", "tolaria"],
  heartbeats: new Map([
    ["urza", { state: "running", pid: 11, receivedAtMs: 49_750 }],
    ["tolaria", { state: "running", pid: 12, receivedAtMs: 49_000 }],
  ]),
  supervision: {
    children: [
      { actor: "urza", phase: "ready", pid: 11, restarts: 2 },
      { actor: "tolaria", phase: "ready", pid: 12, restarts: 0 },
    ],
    restartsInPeriod: 2,
    outcome: undefined,
  },
  router,
  routerIncidentAtMs: undefined,
  heartbeatMissedAfterMs: 5_000,
  restartIntensity: 5,
  restartPeriodMs: 60_000,
  commandRejections: { total: 0, recent: [] },
});

let server: HealthServer;
beforeAll(async () => {
  server = await startHealthServer({
    port: 0,
    snapshot: () => assessSystemHealth(inputs),
    routerStats: () => router,
  });
});
afterAll(async () => {
  await server.close();
});

const SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\})? (\S+)$/;
const NUMBER = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]Inf)$/;

/**
 * A strict reading of Prometheus text exposition: every line is empty, `# HELP name text`, `# TYPE name
 * counter|gauge`, or a sample `name{labels} value` of a family whose TYPE came before; counters end in
 * `_total`. Returns the samples as `name{labels}` → value.
 */
function parsePrometheusText(text: string): Map<string, number> {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples = new Map<string, number>();
  expect(text.endsWith("\n")).toBe(true);
  for (const line of text.slice(0, -1).split("\n")) {
    if (line === "") continue;
    if (line.startsWith("# HELP ")) {
      const [, name, help] = /^# HELP (\S+) (.+)$/.exec(line) ?? [];
      if (name === undefined || help === undefined) throw new Error(`bad HELP line: ${line}`);
      helps.add(name);
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      const [, name, type] = /^# TYPE (\S+) (counter|gauge)$/.exec(line) ?? [];
      if (name === undefined || type === undefined) throw new Error(`bad TYPE line: ${line}`);
      if (!helps.has(name)) throw new Error(`TYPE before HELP for ${name}`);
      if (type === "counter" && !name.endsWith("_total"))
        throw new Error(`counter ${name} does not end in _total`);
      types.set(name, type);
      continue;
    }
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const [, name = "", , labels = "", value = ""] = match;
    if (!types.has(name)) throw new Error(`sample of ${name} without its TYPE line`);
    if (!NUMBER.test(value)) throw new Error(`bad value in ${line}`);
    samples.set(labels === "" ? name : `${name}{${labels}}`, Number(value));
  }
  return samples;
}

describe("health server (real HTTP)", () => {
  it("GET /healthz answers 200 with the snapshot as JSON when operational", async () => {
    inputs = operational();
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const body = HealthSnapshot.parse(await res.json());
    expect(body.mode).toBe("operational");
    expect(body.children.map((c) => [c.actor, c.pid, c.restarts, c.heartbeat?.ageMs])).toEqual([
      ["urza", 11, 2, 250],
      ["tolaria", 12, 0, 1_000],
    ]);
  });

  it("GET /healthz turns 503 with the reasons when the snapshot is degraded, and back to 200", async () => {
    inputs = { ...operational(), nowMs: 54_500 };
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(503);
    const body = HealthSnapshot.parse(await res.json());
    expect(body.mode).toBe("degraded");
    expect(body.reasons).toEqual(["tolaria sent no heartbeat for 5500 ms (at most 5000 ms)"]);
    inputs = operational();
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it("GET /metrics is Prometheus text with the supervisor's and the router's metrics", async () => {
    inputs = { ...operational(), nowMs: 54_500, commandRejections: { total: 3, recent: [] } };
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parsePrometheusText(await res.text());
    for (const name of samples.keys()) expect(name).toMatch(/^esper_weatherlight_/);
    expect(Object.fromEntries(samples)).toMatchObject({
      'esper_weatherlight_system_mode{mode="operational"}': 0,
      'esper_weatherlight_system_mode{mode="degraded"}': 1,
      esper_weatherlight_children_up: 1,
      'esper_weatherlight_child_up{actor="urza"}': 1,
      'esper_weatherlight_child_up{actor="tolaria"}': 0,
      'esper_weatherlight_child_restarts_total{actor="urza"}': 2,
      'esper_weatherlight_child_restarts_total{actor="tolaria"}': 0,
      'esper_weatherlight_child_heartbeat_age_seconds{actor="tolaria"}': 5.5,
      esper_weatherlight_restarts_in_period: 2,
      esper_weatherlight_restart_intensity: 5,
      esper_weatherlight_restart_period_seconds: 60,
      esper_weatherlight_command_rejections_total: 3,
      'esper_weatherlight_telemetry_received_total{priority="CRITICAL"}': 6,
      'esper_weatherlight_telemetry_source_received_total{source="tolaria"}': 8,
      'esper_weatherlight_telemetry_source_throttled_total{source="tolaria"}': 4,
      'esper_weatherlight_telemetry_rejected_total{field="metrics.0.value"}': 2,
      'esper_weatherlight_telemetry_rejected_total{field="odd\\"field\\\\"}': 1,
      'esper_weatherlight_telemetry_stored_total{stream="normal"}': 10,
      'esper_weatherlight_telemetry_stored_total{stream="emergency"}': 2,
      esper_weatherlight_telemetry_duplicates_total: 1,
      esper_weatherlight_telemetry_throttled_total: 4,
      esper_weatherlight_telemetry_dropped_total: 5,
      esper_weatherlight_telemetry_discarded_total: 0,
      esper_weatherlight_telemetry_publish_retries_total: 6,
      esper_weatherlight_telemetry_publish_failures_total: 1,
      esper_weatherlight_telemetry_queue_depth: 7,
      esper_weatherlight_telemetry_acks_in_flight: 2,
      esper_weatherlight_telemetry_emergency_tokens: 99.5,
    });
  });

  it("a second scrape reflects the new values (counters are set from each snapshot, not added up)", async () => {
    inputs = operational();
    await fetch(`${server.url}/metrics`);
    const samples = parsePrometheusText(await (await fetch(`${server.url}/metrics`)).text());
    expect(samples.get('esper_weatherlight_child_restarts_total{actor="urza"}')).toBe(2);
    expect(samples.get('esper_weatherlight_system_mode{mode="operational"}')).toBe(1);
  });

  it("answers 404 to any other path or method", async () => {
    expect((await fetch(`${server.url}/`)).status).toBe(404);
    expect((await fetch(`${server.url}/healthz/x`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`, { method: "POST" })).status).toBe(404);
  });

  it("a taken port is a HealthServerError naming it", async () => {
    await expect(
      startHealthServer({
        port: server.port,
        snapshot: () => assessSystemHealth(inputs),
        routerStats: () => router,
      }),
    ).rejects.toThrow(HealthServerError);
    await expect(
      startHealthServer({
        port: server.port,
        snapshot: () => assessSystemHealth(inputs),
        routerStats: () => router,
      }),
    ).rejects.toThrow(`cannot listen on 127.0.0.1:${server.port}`);
  });
});
