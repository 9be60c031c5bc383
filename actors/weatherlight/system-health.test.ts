import { describe, expect, it } from "vitest";
import type { ChildStatus } from "./child-supervisor.ts";
import {
  assessSystemHealth,
  type HealthInputs,
  HeartbeatRestarts,
  type HeartbeatSeen,
  RouterIncidents,
} from "./system-health.ts";
import { HealthSnapshot } from "./system-health-schema.ts";
import type { TelemetryRouterStats } from "./telemetry-router.ts";

const NOW = 1_000_000;
const ACTORS = ["urza", "kasmina"] as const;

const quietRouter: TelemetryRouterStats = {
  received: 10,
  rejected: 0,
  rejectedByField: {},
  stored: { normal: 9, emergency: 1 },
  duplicates: 0,
  throttled: 0,
  byPriority: { NORMAL: 9, CRITICAL: 1 },
  bySource: {},
  queueDepth: 0,
  inFlight: 0,
  dropped: 0,
  discarded: 0,
  publishRetries: 0,
  publishFailures: 0,
  emergencyTokens: 119,
};

const beat = (state: string, ageMs: number, pid = 100): HeartbeatSeen => ({
  state,
  pid,
  receivedAtMs: NOW - ageMs,
});
const ready = (actor: string, restarts = 0): ChildStatus => ({ actor, phase: "ready", pid: 100, restarts });

/** Both children ready, beating, no restart, a quiet router: operational. */
function healthy(overrides: Partial<HealthInputs> = {}): HealthInputs {
  return {
    nowMs: NOW,
    runId: "run-1",
    actors: ACTORS,
    heartbeats: new Map(ACTORS.map((a) => [a, beat("running", 500)])),
    supervision: { children: ACTORS.map((a) => ready(a)), restartsInPeriod: 0, outcome: undefined },
    router: quietRouter,
    routerIncidentAtMs: undefined,
    heartbeatMissedAfterMs: 5_000,
    restartIntensity: 5,
    restartPeriodMs: 60_000,
    commandRejections: { total: 0, recent: [] },
    ...overrides,
  };
}

describe("assessSystemHealth", () => {
  it("is operational with every child ready and beating, and the snapshot passes its schema", () => {
    const snapshot = assessSystemHealth(healthy());
    expect(snapshot.mode).toBe("operational");
    expect(snapshot.reasons).toEqual([]);
    expect(HealthSnapshot.parse(snapshot)).toEqual(snapshot);
    expect(snapshot.children[0]).toEqual({
      actor: "urza",
      up: true,
      supervision: "ready",
      pid: 100,
      restarts: 0,
      heartbeat: { state: "running", pid: 100, ageMs: 500 },
    });
    expect(snapshot.router).toMatchObject({ received: 10, stored: { normal: 9, emergency: 1 } });
  });

  it("is degraded when a child's last heartbeat is older than heartbeatMissedAfterMs", () => {
    const heartbeats = new Map([
      ["urza", beat("running", 500)],
      ["kasmina", beat("running", 5_001)],
    ]);
    const snapshot = assessSystemHealth(healthy({ heartbeats }));
    expect(snapshot.mode).toBe("degraded");
    expect(snapshot.reasons).toEqual(["kasmina sent no heartbeat for 5001 ms (at most 5000 ms)"]);
    expect(
      assessSystemHealth(
        healthy({ heartbeats: new Map([...heartbeats, ["kasmina", beat("running", 5_000)]]) }),
      ).mode,
    ).toBe("operational");
  });

  it("is degraded when a child has sent no heartbeat or its state is not running", () => {
    const heartbeats = new Map([["urza", beat("draining", 10)]]);
    const snapshot = assessSystemHealth(healthy({ heartbeats }));
    expect(snapshot.reasons).toEqual(["urza is draining", "kasmina has sent no heartbeat"]);
    expect(snapshot.children[1]?.heartbeat).toBeNull();
    expect(snapshot.children.map((c) => c.up)).toEqual([false, false]);
  });

  it("is degraded while a child awaits its restart or is not ready after it, and names its restarts", () => {
    const supervision = {
      children: [
        { actor: "urza", phase: "failed", pid: 100, restarts: 1 },
        { actor: "kasmina", phase: "restarting", pid: 200, restarts: 2 },
      ] satisfies ChildStatus[],
      restartsInPeriod: 3,
      outcome: undefined,
    };
    const snapshot = assessSystemHealth(healthy({ supervision }));
    expect(snapshot.mode).toBe("degraded");
    expect(snapshot.reasons).toEqual([
      "urza failed and awaits its restart (restarts so far 1)",
      "kasmina is restarting (pid 200 not ready yet)",
    ]);
    expect(snapshot.children.map((c) => [c.supervision, c.pid, c.restarts])).toEqual([
      ["failed", 100, 1],
      ["restarting", 200, 2],
    ]);
  });

  it("returns to operational after a restart once the child is ready and beating again", () => {
    const supervision = {
      children: [ready("urza", 1), ready("kasmina")],
      restartsInPeriod: 1,
      outcome: undefined,
    };
    const snapshot = assessSystemHealth(healthy({ supervision }));
    expect(snapshot.mode).toBe("operational");
    expect(snapshot.supervision.restartsInPeriod).toBe(1);
  });

  it("is degraded when the restarts within the period reach the restart intensity", () => {
    const at = (restartsInPeriod: number) =>
      assessSystemHealth(
        healthy({
          supervision: { children: ACTORS.map((a) => ready(a)), restartsInPeriod, outcome: undefined },
        }),
      );
    expect(at(4).mode).toBe("operational");
    expect(at(5).reasons).toEqual([
      "restart intensity reached: 5 restarts within 60000 ms (at most 5); the next failure halts the run",
    ]);
  });

  it("is degraded once supervision has ended, naming how", () => {
    const outcome = { kind: "degraded", actor: "urza", reason: "restart intensity exceeded" } as const;
    const snapshot = assessSystemHealth(
      healthy({ supervision: { children: ACTORS.map((a) => ready(a)), restartsInPeriod: 5, outcome } }),
    );
    expect(snapshot.supervision.outcome).toBe("degraded");
    expect(snapshot.reasons).toContain("supervision ended: degraded: restart intensity exceeded");
  });

  it("reports children not yet supervised as starting, with the pid of their heartbeat", () => {
    const heartbeats = new Map([["urza", beat("running", 10, 42)]]);
    const snapshot = assessSystemHealth(healthy({ supervision: undefined, heartbeats }));
    expect(snapshot.children.map((c) => [c.actor, c.supervision, c.pid])).toEqual([
      ["urza", "starting", 42],
      ["kasmina", "starting", null],
    ]);
    expect(snapshot.reasons).toEqual(["kasmina has sent no heartbeat"]);
  });

  it("is degraded for a router publish failure or drop within the restart period, not after it", () => {
    const router = { ...quietRouter, dropped: 3, publishFailures: 1 };
    const recent = assessSystemHealth(healthy({ router, routerIncidentAtMs: NOW - 59_999 }));
    expect(recent.reasons).toEqual([
      "telemetry router: 1 publish failures, 3 dropped packets (the last 59999 ms ago)",
    ]);
    expect(assessSystemHealth(healthy({ router, routerIncidentAtMs: NOW - 60_000 })).mode).toBe(
      "operational",
    );
  });
});

describe("RouterIncidents", () => {
  it("dates an incident at the sample that saw publish failures or drops increase", () => {
    const incidents = new RouterIncidents();
    incidents.observe({ publishFailures: 0, dropped: 0 }, 10);
    expect(incidents.lastIncidentAtMs()).toBeUndefined();
    incidents.observe({ publishFailures: 0, dropped: 2 }, 20);
    incidents.observe({ publishFailures: 0, dropped: 2 }, 30);
    expect(incidents.lastIncidentAtMs()).toBe(20);
    incidents.observe({ publishFailures: 1, dropped: 2 }, 40);
    expect(incidents.lastIncidentAtMs()).toBe(40);
  });
});

describe("assessSystemHealth in compose mode (no supervision, restarts from heartbeats)", () => {
  const compose = (perActor: [string, number][], inPeriod: number) =>
    healthy({ supervision: undefined, external: { perActor: new Map(perActor), inPeriod } });

  it("is operational from fresh running heartbeats alone; each child is external with its restarts seen", () => {
    const snapshot = assessSystemHealth(compose([["kasmina", 2]], 2));
    expect(snapshot.mode).toBe("operational");
    expect(HealthSnapshot.parse(snapshot)).toEqual(snapshot);
    expect(snapshot.children.map((c) => [c.actor, c.supervision, c.restarts, c.pid])).toEqual([
      ["urza", "external", 0, 100],
      ["kasmina", "external", 2, 100],
    ]);
    expect(snapshot.supervision).toMatchObject({ outcome: null, restartsInPeriod: 2 });
  });

  it("is degraded when the restarts seen within the period reach the intensity, or a heartbeat is stale", () => {
    expect(assessSystemHealth(compose([["kasmina", 5]], 5)).reasons).toEqual([
      "restart intensity reached: 5 restarts within 60000 ms (at most 5)",
    ]);
    const stale = healthy({
      supervision: undefined,
      external: { perActor: new Map(), inPeriod: 0 },
      heartbeats: new Map([
        ["urza", beat("running", 500)],
        ["kasmina", beat("running", 5_001)],
      ]),
    });
    expect(assessSystemHealth(stale).reasons).toEqual([
      "kasmina sent no heartbeat for 5001 ms (at most 5000 ms)",
    ]);
  });
});

describe("HeartbeatRestarts", () => {
  it("counts a new instance, a new pid or an uptime that went back as a restart, not the first process or its beats", () => {
    const r = new HeartbeatRestarts();
    r.observe("kasmina", { instanceId: "k1", pid: 1, uptimeMs: 100 }, 1_000);
    r.observe("kasmina", { instanceId: "k1", pid: 1, uptimeMs: 1_100 }, 2_000);
    r.observe("urza", { instanceId: "u1", pid: 7, uptimeMs: 100 }, 2_000);
    expect(r.seen(2_000, 60_000).inPeriod).toBe(0);
    r.observe("kasmina", { instanceId: "k1", pid: 1, uptimeMs: 50 }, 3_000); // same name, pid 1 again
    r.observe("kasmina", { instanceId: "k1", pid: 2, uptimeMs: 900 }, 4_000); // another pid
    r.observe("kasmina", { instanceId: "k2", pid: 2, uptimeMs: 10 }, 5_000); // another instance
    const seen = r.seen(5_000, 60_000);
    expect(seen.inPeriod).toBe(3);
    expect([...seen.perActor]).toEqual([["kasmina", 3]]);
    expect(r.seen(63_000, 60_000).inPeriod).toBe(2);
    expect(r.seen(65_000, 60_000).inPeriod).toBe(0);
    expect(r.seen(65_000, 60_000).perActor.get("kasmina")).toBe(3);
  });
});
