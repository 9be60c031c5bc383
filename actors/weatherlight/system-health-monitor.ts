import type { BusConnection } from "../../bus/connection.ts";
import { type BusSubscription, subscribe } from "../../bus/typed.ts";
import type { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import type { ChildStatus, SupervisionOutcome } from "./child-supervisor.ts";
import type { CommandRejections } from "./command-rejections.ts";
import {
  assessSystemHealth,
  HeartbeatRestarts,
  type HeartbeatSeen,
  RouterIncidents,
} from "./system-health.ts";
import type { HealthSnapshot } from "./system-health-schema.ts";
import type { TelemetryRouterStats } from "./telemetry-router.ts";

/** What the monitor reads of a ChildSupervisor. */
export interface SupervisedChildren {
  childStatus(): ChildStatus[];
  readonly outcome: Promise<SupervisionOutcome>;
}

/** What the monitor reads of a RestartPolicy. */
export interface RestartCount {
  restartsInPeriod(): number;
}

/** What a SystemHealthMonitor watches. */
export interface SystemHealthMonitorOptions {
  readonly bus: BusConnection;
  readonly runId: string;
  /** The run's children in start order. */
  readonly actors: readonly string[];
  /**
   * The run's instance id of an actor: only its heartbeats count (embedded mode). Absent in compose
   * mode: every instance's heartbeats count, and a new process of an actor counts as a restart.
   */
  readonly instanceOf?: (actor: string) => string;
  readonly routerStats: () => TelemetryRouterStats;
  /** The command rejections the router takes in (its `onPacket`). */
  readonly rejections: CommandRejections;
  /** The worker settings in force, read at each snapshot. */
  readonly settings: () => WorkerSettings;
  /** Default `Date.now`. */
  readonly now?: () => number;
  /** How often the router's counters are sampled for incidents; default 1 000 ms. */
  readonly sampleEveryMs?: number;
}

/**
 * Weatherlight's view of its stack for `/healthz` and `/metrics`: the last heartbeat of each child's
 * instance (`heartbeat.<actor>`), supervision once `supervising` is called, and the router's publish
 * failures and drops (sampled every `sampleEveryMs` and at each snapshot). `snapshot()` decides the
 * system mode with `assessSystemHealth`.
 */
export class SystemHealthMonitor {
  private readonly heartbeats = new Map<string, HeartbeatSeen>();
  private readonly incidents = new RouterIncidents();
  private readonly restarts = new HeartbeatRestarts();
  private readonly subscriptions: BusSubscription[];
  private readonly sampler: NodeJS.Timeout;
  private readonly now: () => number;
  private supervised: { children: SupervisedChildren; restarts: RestartCount } | undefined;
  private outcome: SupervisionOutcome | undefined;

  constructor(private readonly options: SystemHealthMonitorOptions) {
    this.now = options.now ?? Date.now;
    this.subscriptions = options.actors.map((actor) => {
      const instanceId = options.instanceOf?.(actor);
      return subscribe(
        options.bus,
        "heartbeat",
        (hb) => {
          if (instanceId !== undefined && hb.instanceId !== instanceId) return;
          const receivedAtMs = this.now();
          this.heartbeats.set(actor, { state: hb.state, pid: hb.pid, receivedAtMs });
          this.restarts.observe(actor, hb, receivedAtMs);
        },
        { params: { actor } },
      );
    });
    this.sampler = setInterval(() => this.sampleRouter(), options.sampleEveryMs ?? 1_000);
    this.sampler.unref();
  }

  /** Supervision has taken the children: their phases, restarts and outcome count from now on. */
  supervising(children: SupervisedChildren, restarts: RestartCount): void {
    this.supervised = { children, restarts };
    void children.outcome.then((outcome) => {
      this.outcome = outcome;
    });
  }

  /** The stack's health now. */
  snapshot(): HealthSnapshot {
    this.sampleRouter();
    const settings = this.options.settings();
    const supervised = this.supervised;
    const nowMs = this.now();
    return assessSystemHealth({
      nowMs,
      runId: this.options.runId,
      actors: this.options.actors,
      heartbeats: this.heartbeats,
      supervision:
        supervised === undefined
          ? undefined
          : {
              children: supervised.children.childStatus(),
              restartsInPeriod: supervised.restarts.restartsInPeriod(),
              outcome: this.outcome,
            },
      ...(this.options.instanceOf === undefined
        ? { external: this.restarts.seen(nowMs, settings.supervisor.restartPeriodMs) }
        : {}),
      router: this.options.routerStats(),
      routerIncidentAtMs: this.incidents.lastIncidentAtMs(),
      heartbeatMissedAfterMs: settings.timeouts.heartbeatMissedAfterMs,
      restartIntensity: settings.supervisor.restartIntensity,
      restartPeriodMs: settings.supervisor.restartPeriodMs,
      commandRejections: this.options.rejections.health(),
    });
  }

  /** Stops the heartbeat subscriptions and the sampler. */
  async stop(): Promise<void> {
    clearInterval(this.sampler);
    await Promise.all(this.subscriptions.map((s) => s.stop(0)));
  }

  private sampleRouter(): void {
    this.incidents.observe(this.options.routerStats(), this.now());
  }
}
