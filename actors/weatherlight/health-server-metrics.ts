import { Counter, Gauge, Registry } from "prom-client";
import type { HealthSnapshot } from "./system-health-schema.ts";
import type { TelemetryRouterStats } from "./telemetry-router.ts";

/** What `/metrics` reads at each scrape. */
export interface MetricsSource {
  readonly snapshot: () => HealthSnapshot;
  readonly routerStats: () => TelemetryRouterStats;
}

/** Prometheus text of one Weatherlight: its own registry (never prom-client's global one). */
export interface MetricsExporter {
  /** The `Content-Type` of `render()`'s text. */
  readonly contentType: string;
  /** One snapshot and one router stats sample, as Prometheus text exposition. */
  render(): Promise<string>;
}

const PREFIX = "esper_weatherlight_";

/**
 * The supervisor's and the telemetry router's metrics (`esper_weatherlight_*`): system mode as a state
 * set (`system_mode{mode}` 1 for the mode in force), children up, per child up, restarts and heartbeat
 * age (seconds), restarts in the period and the intensity, command rejections; the router's counters (`*_total`: received
 * per priority and per source, rejected per field, stored per stream, duplicates, throttled in total
 * and per source, dropped, discarded, publish retries and failures) and gauges (queue depth, acks in
 * flight, emergency tokens). Each scrape sets every value from one snapshot, so a scrape is consistent.
 */
export function createMetricsExporter(source: MetricsSource): MetricsExporter {
  const registry = new Registry();
  const gauge = (name: string, help: string, labelNames: readonly string[] = []) =>
    new Gauge({ name: PREFIX + name, help, labelNames, registers: [registry] });
  const counter = (name: string, help: string, labelNames: readonly string[] = []) =>
    new Counter({ name: PREFIX + name, help, labelNames, registers: [registry] });

  const systemMode = gauge("system_mode", "1 for the system mode in force, 0 for the other", ["mode"]);
  const childrenUp = gauge("children_up", "Child actors ready with a fresh running heartbeat");
  const childUp = gauge("child_up", "1 when the child actor is ready with a fresh running heartbeat", [
    "actor",
  ]);
  const childRestarts = counter("child_restarts_total", "Restarts of the child actor in this run", ["actor"]);
  const heartbeatAge = gauge("child_heartbeat_age_seconds", "Time since the child actor's last heartbeat", [
    "actor",
  ]);
  const restartsInPeriod = gauge("restarts_in_period", "Restarts of all children within the restart period");
  const restartIntensity = gauge("restart_intensity", "Most restarts allowed within the restart period");
  const restartPeriod = gauge("restart_period_seconds", "The sliding window of the restart intensity");
  const commandRejections = counter(
    "command_rejections_total",
    "Commands the actors refused (<actor>.command.rejected events the router took in)",
  );

  const received = counter("telemetry_received_total", "Valid telemetry packets taken in", ["priority"]);
  const sourceReceived = counter(
    "telemetry_source_received_total",
    "Valid telemetry packets taken in per source subsystem",
    ["source"],
  );
  const rejected = counter("telemetry_rejected_total", "Raw telemetry packets refused by their contract", [
    "field",
  ]);
  const stored = counter("telemetry_stored_total", "Telemetry packets stored (acked) per stream", ["stream"]);
  const duplicates = counter("telemetry_duplicates_total", "Stored packets the stream already held");
  const throttled = counter(
    "telemetry_throttled_total",
    "CRITICAL packets sent to the normal stream because the emergency bucket was empty",
  );
  const sourceThrottled = counter(
    "telemetry_source_throttled_total",
    "Throttled CRITICAL packets per source subsystem",
    ["source"],
  );
  const dropped = counter("telemetry_dropped_total", "Packets dropped because the routing queue was full");
  const discarded = counter(
    "telemetry_discarded_total",
    "Packets discarded unrouted when the router stopped",
  );
  const retries = counter(
    "telemetry_publish_retries_total",
    "Stream publish attempts repeated after a failure",
  );
  const failures = counter(
    "telemetry_publish_failures_total",
    "Packets given up after every publish attempt",
  );
  const queueDepth = gauge("telemetry_queue_depth", "Packets waiting for a publish slot");
  const inFlight = gauge("telemetry_acks_in_flight", "Stream publishes awaiting their ack");
  const tokens = gauge("telemetry_emergency_tokens", "Tokens in the emergency token bucket");

  const setCounter = (metric: Counter, entries: Iterable<[string, number]>, label: string): void => {
    metric.reset();
    for (const [value, n] of entries) metric.inc({ [label]: value }, n);
  };
  const setTotal = (metric: Counter, n: number): void => {
    metric.reset();
    metric.inc(n);
  };

  const update = (): void => {
    const health = source.snapshot();
    const router = source.routerStats();
    systemMode.reset();
    systemMode.set({ mode: "operational" }, health.mode === "operational" ? 1 : 0);
    systemMode.set({ mode: "degraded" }, health.mode === "degraded" ? 1 : 0);
    childrenUp.set(health.children.filter((c) => c.up).length);
    childUp.reset();
    heartbeatAge.reset();
    for (const child of health.children) {
      childUp.set({ actor: child.actor }, child.up ? 1 : 0);
      if (child.heartbeat !== null) heartbeatAge.set({ actor: child.actor }, child.heartbeat.ageMs / 1_000);
    }
    setCounter(
      childRestarts,
      health.children.map((c) => [c.actor, c.restarts]),
      "actor",
    );
    restartsInPeriod.set(health.supervision.restartsInPeriod);
    restartIntensity.set(health.supervision.restartIntensity);
    restartPeriod.set(health.supervision.restartPeriodMs / 1_000);
    setTotal(commandRejections, health.commandRejections.total);

    setCounter(received, Object.entries(router.byPriority), "priority");
    setCounter(
      sourceReceived,
      Object.entries(router.bySource).map(([s, c]) => [s, c.received]),
      "source",
    );
    setCounter(
      sourceThrottled,
      Object.entries(router.bySource).map(([s, c]) => [s, c.throttled]),
      "source",
    );
    setCounter(rejected, Object.entries(router.rejectedByField), "field");
    setCounter(stored, Object.entries(router.stored), "stream");
    setTotal(duplicates, router.duplicates);
    setTotal(throttled, router.throttled);
    setTotal(dropped, router.dropped);
    setTotal(discarded, router.discarded);
    setTotal(retries, router.publishRetries);
    setTotal(failures, router.publishFailures);
    queueDepth.set(router.queueDepth);
    inFlight.set(router.inFlight);
    tokens.set(router.emergencyTokens);
  };

  return {
    contentType: registry.contentType,
    render: async () => {
      update();
      return registry.metrics();
    },
  };
}
