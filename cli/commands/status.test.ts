import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type HealthServer, startHealthServer } from "../../actors/weatherlight/health-server.ts";
import { assessSystemHealth, type HealthInputs } from "../../actors/weatherlight/system-health.ts";
import { HealthSnapshot } from "../../actors/weatherlight/system-health-schema.ts";
import type { TelemetryRouterStats } from "../../actors/weatherlight/telemetry-router.ts";
import { main } from "../main.ts";

const run = (args: readonly string[]): Promise<number> => main(["status", ...args]);

const router: TelemetryRouterStats = {
  received: 40,
  rejected: 0,
  rejectedByField: {},
  stored: { normal: 38, emergency: 2 },
  duplicates: 0,
  throttled: 0,
  byPriority: { NORMAL: 38, CRITICAL: 2 },
  bySource: {},
  queueDepth: 0,
  inFlight: 0,
  dropped: 0,
  discarded: 0,
  publishRetries: 0,
  publishFailures: 0,
  emergencyTokens: 118,
};

let inputs: HealthInputs;
const operational = (): HealthInputs => ({
  nowMs: Date.now(),
  runId: "run-status",
  actors: ["urza", "kasmina"],
  heartbeats: new Map([
    ["urza", { state: "running", pid: 31, receivedAtMs: Date.now() - 300 }],
    ["kasmina", { state: "running", pid: 32, receivedAtMs: Date.now() - 300 }],
  ]),
  supervision: {
    children: [
      { actor: "urza", phase: "ready", pid: 31, restarts: 0 },
      { actor: "kasmina", phase: "ready", pid: 32, restarts: 1 },
    ],
    restartsInPeriod: 1,
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

async function status(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const outSpy = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  const errSpy = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    err.push(String(chunk));
    return true;
  });
  try {
    const code = await run(args);
    return { code, stdout: out.join(""), stderr: err.join("") };
  } finally {
    outSpy.mockRestore();
    errSpy.mockRestore();
  }
}

describe("esper status (a real health server)", () => {
  it("prints an operational stack as a table and exits 0", async () => {
    inputs = operational();
    const result = await status(["--url", server.url]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^system_mode {2}operational {2}\(run run-status, /);
    expect(result.stdout).toMatch(/^kasmina +yes +ready +32 +1 +running, 0\.3 s ago$/m);
    expect(result.stdout).toContain("restarts     1 within 60 s (at most 5)");
    expect(result.stdout).toContain("received 40, stored normal 38 / emergency 2");
  });

  it("prints a degraded stack's snapshot as JSON with --json, given the /healthz URL, and exits 1", async () => {
    inputs = {
      ...operational(),
      supervision: {
        children: [
          { actor: "urza", phase: "ready", pid: 31, restarts: 0 },
          { actor: "kasmina", phase: "failed", pid: 32, restarts: 2 },
        ],
        restartsInPeriod: 2,
        outcome: undefined,
      },
    };
    const result = await status(["--url", `${server.url}/healthz`, "--json"]);
    expect(result.code).toBe(1);
    const snapshot = HealthSnapshot.parse(JSON.parse(result.stdout));
    expect(snapshot.mode).toBe("degraded");
    expect(snapshot.reasons).toEqual(["kasmina failed and awaits its restart (restarts so far 2)"]);
  });

  it("shows the recent command rejections, newest first, in the table and in --json", async () => {
    const rejection = (commandId: string, reason: string, atMs: number) => ({
      atMs,
      actor: "kasmina",
      eventId: "kasmina.command.rejected",
      commandId,
      reason,
      detail: `command ${commandId} refused`,
    });
    const recent = [
      rejection("c-2", "stale_command", 1_700_000_002_000),
      rejection("c-1", "invalid_signature", 1_700_000_001_000),
    ];
    inputs = { ...operational(), commandRejections: { total: 3, recent } };
    const table = await status(["--url", server.url]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(
      "rejections   3 commands refused, the last 2:\n" +
        "  2023-11-14T22:13:22.000Z  kasmina  c-2  stale_command: command c-2 refused\n" +
        "  2023-11-14T22:13:21.000Z  kasmina  c-1  invalid_signature: command c-1 refused\n",
    );
    const json = await status(["--url", server.url, "--json"]);
    expect(HealthSnapshot.parse(JSON.parse(json.stdout)).commandRejections).toEqual({ total: 3, recent });
  });

  it("the table of a degraded stack lists each reason", async () => {
    inputs = { ...operational(), heartbeats: new Map() };
    const result = await status(["--url", server.url]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      "reason       urza has sent no heartbeat\nreason       kasmina has sent no heartbeat",
    );
  });

  it("exits 2 saying so when nothing listens at the URL", async () => {
    const closed = await startHealthServer({
      port: 0,
      snapshot: () => assessSystemHealth(inputs),
      routerStats: () => router,
    });
    await closed.close();
    const result = await status(["--url", closed.url]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `esper status: health endpoint ${closed.url}/healthz unreachable: ECONNREFUSED (is the stack running?)\n`,
    );
  });

  it("exits 2 naming the field when the endpoint answers something that is not a health snapshot", async () => {
    const other = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ...assessSystemHealth(operational()), mode: "fine" }));
    });
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    const { port } = other.address() as AddressInfo;
    try {
      const result = await status(["--url", `http://127.0.0.1:${port}`]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/answered an invalid snapshot: mode: /);
    } finally {
      other.close();
    }
  });

  it("exits 2 without a URL, or with one that is not http://host:port[/healthz]", async () => {
    const previous = process.env.ESPER_HEALTH_URL;
    delete process.env.ESPER_HEALTH_URL;
    try {
      const none = await status([]);
      expect(none.code).toBe(2);
      expect(none.stderr).toContain("give --url (esper up says it at start) or set ESPER_HEALTH_URL");
    } finally {
      if (previous !== undefined) process.env.ESPER_HEALTH_URL = previous;
    }
    const wrong = await status(["--url", `${server.url}/metrics`]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("--url must be http://host:port or its /healthz");
  });
});
