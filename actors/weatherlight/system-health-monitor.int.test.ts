import { describe, expect, it } from "vitest";
import { publish } from "../../bus/typed.ts";
import { validate } from "../../contracts/codec.ts";
import type { Heartbeat } from "../../contracts/messages/runtime.ts";
import { useTestBus } from "../../test/bus-fixture.ts";
import type { ChildStatus, SupervisionOutcome } from "./child-supervisor.ts";
import { CommandRejections } from "./command-rejections.ts";
import { SystemHealthMonitor } from "./system-health-monitor.ts";
import type { TelemetryRouterStats } from "./telemetry-router.ts";

const tb = useTestBus("health-monitor-test");
const settings = validate("WorkerSettings", {});

function beat(actor: string, instanceId: string, state: Heartbeat["state"], pid: number): void {
  publish(
    tb.bus,
    "heartbeat",
    {
      actor,
      instanceId,
      runId: "run-a",
      pid,
      state,
      uptimeMs: 10,
      timestampMs: Date.now(),
      mailboxDepths: {},
    },
    { params: { actor } },
  );
}

let routerStats: TelemetryRouterStats;
const quiet: TelemetryRouterStats = {
  received: 0,
  rejected: 0,
  rejectedByField: {},
  stored: { normal: 0, emergency: 0 },
  duplicates: 0,
  throttled: 0,
  byPriority: {},
  bySource: {},
  queueDepth: 0,
  inFlight: 0,
  dropped: 0,
  discarded: 0,
  publishRetries: 0,
  publishFailures: 0,
  emergencyTokens: 120,
};

async function settle(): Promise<void> {
  await tb.bus.nc.flush();
  await new Promise((r) => setTimeout(r, 100));
}

describe("SystemHealthMonitor (real nats-server)", () => {
  it("follows the run's instances' heartbeats, then supervision and the router, into the system mode", async () => {
    routerStats = quiet;
    const clock = { ms: 1_000_000 };
    const monitor = new SystemHealthMonitor({
      bus: tb.bus,
      runId: "run-a",
      actors: ["urza", "tolaria"],
      instanceOf: (actor) => `${actor}-run-a`,
      routerStats: () => routerStats,
      rejections: new CommandRejections(),
      settings: () => settings,
      now: () => clock.ms,
    });
    try {
      await settle();
      expect(monitor.snapshot().reasons).toEqual([
        "urza has sent no heartbeat",
        "tolaria has sent no heartbeat",
      ]);

      beat("urza", "urza-run-a", "running", 11);
      beat("tolaria", "tolaria-run-a", "starting", 12);
      beat("tolaria", "tolaria-run-b", "running", 99);
      await settle();
      const starting = monitor.snapshot();
      expect(starting.reasons).toEqual(["tolaria is starting"]);
      expect(starting.children.map((c) => [c.actor, c.supervision, c.pid])).toEqual([
        ["urza", "starting", 11],
        ["tolaria", "starting", 12],
      ]);

      beat("tolaria", "tolaria-run-a", "running", 12);
      await settle();
      let children: ChildStatus[] = [
        { actor: "urza", phase: "ready", pid: 11, restarts: 0 },
        { actor: "tolaria", phase: "ready", pid: 12, restarts: 0 },
      ];
      let settleOutcome: (o: SupervisionOutcome) => void = () => {};
      const outcome = new Promise<SupervisionOutcome>((resolve) => {
        settleOutcome = resolve;
      });
      monitor.supervising({ childStatus: () => children, outcome }, { restartsInPeriod: () => 1 });
      expect(monitor.snapshot()).toMatchObject({ mode: "operational", supervision: { restartsInPeriod: 1 } });

      children = [children[0] as ChildStatus, { actor: "tolaria", phase: "failed", pid: 12, restarts: 1 }];
      expect(monitor.snapshot().reasons).toEqual([
        "tolaria failed and awaits its restart (restarts so far 1)",
      ]);
      children = [children[0] as ChildStatus, { actor: "tolaria", phase: "ready", pid: 13, restarts: 1 }];
      expect(monitor.snapshot().mode).toBe("operational");

      clock.ms += settings.timeouts.heartbeatMissedAfterMs + 1;
      expect(monitor.snapshot().reasons).toEqual([
        "urza sent no heartbeat for 5001 ms (at most 5000 ms)",
        "tolaria sent no heartbeat for 5001 ms (at most 5000 ms)",
      ]);
      beat("urza", "urza-run-a", "running", 11);
      beat("tolaria", "tolaria-run-a", "running", 13);
      await settle();
      expect(monitor.snapshot().mode).toBe("operational");

      routerStats = { ...quiet, dropped: 1 };
      expect(monitor.snapshot().reasons).toEqual([
        "telemetry router: 0 publish failures, 1 dropped packets (the last 0 ms ago)",
      ]);
      clock.ms += settings.supervisor.restartPeriodMs;
      beat("urza", "urza-run-a", "running", 11);
      beat("tolaria", "tolaria-run-a", "running", 13);
      await settle();
      expect(monitor.snapshot().mode).toBe("operational");

      settleOutcome({ kind: "owner-finished", actor: "tolaria" });
      await outcome;
      expect(monitor.snapshot()).toMatchObject({
        mode: "degraded",
        reasons: ["supervision ended: tolaria finished the run"],
        supervision: { outcome: "owner-finished" },
      });
    } finally {
      await monitor.stop();
    }
  });
});
