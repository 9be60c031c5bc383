import { BoundedRunner } from "../../bus/bounded-runner.ts";
import type { BusConnection } from "../../bus/connection.ts";
import { outgoingHeaders } from "../../bus/headers.ts";
import type { StreamAck } from "../../bus/jetstream/publish.ts";
import { StreamPublisher } from "../../bus/jetstream/stream-publisher.ts";
import { fieldLabel } from "../../bus/metric-labels.ts";
import { settlesWithin } from "../../bus/settles-within.ts";
import { type BusSubscription, concreteSubject, listenTyped } from "../../bus/typed.ts";
import { encode } from "../../contracts/codec.ts";
import { MessagePriority } from "../../contracts/enums.ts";
import type { ContractError } from "../../contracts/errors.ts";
import { HeaderNames } from "../../contracts/headers.ts";
import type { TelemetryPacket } from "../../contracts/messages/telemetry.ts";
import type { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import { subjectFilter } from "../../contracts/subjects.ts";
import type { EventOptions } from "../runtime/telemetry.ts";
import { TokenBucket } from "./token-bucket.ts";

/** Where the router reports its own events (the actor's `ctx.telemetry`). */
export interface RouterEventSink {
  event(eventId: string, opts: EventOptions): void;
}

/** What the router needs: the bus, the live emergency settings, an event sink, and its bounds. */
export interface TelemetryRouterOptions {
  readonly bus: BusConnection;
  /** The emergency settings in force, read at each CRITICAL packet: a settings change applies at once. */
  readonly emergency: () => WorkerSettings["emergency"];
  readonly events: RouterEventSink;
  /** The token bucket's clock in milliseconds; default `Date.now`. */
  readonly now?: () => number;
  /** Stream publishes awaiting their ack at once; default 256. */
  readonly maxInFlight?: number;
  /** Packets waiting for a publish slot; beyond it a packet is dropped, counted and reported. Default 10 000. */
  readonly queueCapacity?: number;
  /** Publish attempts per packet before it is reported as failed; default 3. */
  readonly publishAttempts?: number;
  /** Deadline of one attempt's ack; default 2 000 ms. */
  readonly attemptDeadlineMs?: number;
  /** Pause before attempt n+1 is n times this; default 100 ms. */
  readonly retryDelayMs?: number;
  /** Most distinct sources counted apart; later ones are counted under `other`. Default 256. */
  readonly maxSources?: number;
  /** Sees each valid packet taken in, before it is queued (Weatherlight's health keeps command rejections). */
  readonly onPacket?: (packet: TelemetryPacket) => void;
}

/** The queue group of every router on a namespace: each raw packet is routed by one Weatherlight. */
export const TELEMETRY_ROUTER_QUEUE = "weatherlight-telemetry";

/** Where a packet went. */
export type RouteDestination = "normal" | "emergency";

/** Counters of one source subsystem. */
export interface SourceCounters {
  received: number;
  throttled: number;
}

/** A snapshot of the router's counters and gauges (what `/metrics` exposes). */
export interface TelemetryRouterStats {
  /** Valid packets taken in. */
  readonly received: number;
  /** Raw packets refused by their contract, in total and by field (`<root>` for an undecodable payload). */
  readonly rejected: number;
  readonly rejectedByField: Readonly<Record<string, number>>;
  /** Packets stored (acked) per stream; `duplicates` of them were already stored (same packet id). */
  readonly stored: Readonly<Record<RouteDestination, number>>;
  readonly duplicates: number;
  /** CRITICAL packets sent to the normal stream marked throttled: the token bucket was empty. */
  readonly throttled: number;
  /** Packets taken in per priority name. */
  readonly byPriority: Readonly<Record<string, number>>;
  /** Packets taken in and throttled per source subsystem. */
  readonly bySource: Readonly<Record<string, Readonly<SourceCounters>>>;
  /** Packets waiting for a publish slot, and publishes awaiting their ack. */
  readonly queueDepth: number;
  readonly inFlight: number;
  /** Packets dropped because the queue was full, or discarded unrouted at stop. */
  readonly dropped: number;
  readonly discarded: number;
  /** Attempts repeated after a failed publish, and packets given up after every attempt. */
  readonly publishRetries: number;
  readonly publishFailures: number;
  /** Tokens in the emergency bucket now. */
  readonly emergencyTokens: number;
}

/** A running router. */
export interface TelemetryRouter {
  stats(): TelemetryRouterStats;
  /**
   * Stops taking packets in, lets queued and in-flight ones be routed for up to `graceMs` (default
   * 5 000), then discards what is still queued (counted, reported) and fails the acks still awaited
   * (counted as publish failures, reported).
   */
  stop(graceMs?: number): Promise<void>;
}

const OTHER_SOURCES = "other";
const priorityNames = new Map<number, string>(Object.entries(MessagePriority).map(([k, v]) => [v, k]));

/**
 * Starts Weatherlight's telemetry fan-in: every valid TelemetryPacket on `<ns>.telemetry.raw.*` is
 * stored, acked, on the emergency stream when it is CRITICAL and the emergency token bucket
 * (`emergency.tokenBucketCapacity`, `emergency.tokenRefillPerMinute`) has a token; a CRITICAL packet
 * beyond the bucket goes to the normal stream with header `Esper-Throttled: true` and is counted; every
 * other packet goes to the normal stream. The stored message id is the packet id, so a retried publish
 * is stored once. A publish is retried (`publishAttempts`), then counted and reported as ERROR
 * `weatherlight.telemetry.publish_failed`; a full queue drops and reports (`weatherlight.telemetry.dropped`).
 */
export function startTelemetryRouter(opts: TelemetryRouterOptions): TelemetryRouter {
  const { bus, events } = opts;
  const maxInFlight = opts.maxInFlight ?? 256;
  const queueCapacity = opts.queueCapacity ?? 10_000;
  const attempts = opts.publishAttempts ?? 3;
  const attemptDeadlineMs = opts.attemptDeadlineMs ?? 2_000;
  const retryDelayMs = opts.retryDelayMs ?? 100;
  const maxSources = opts.maxSources ?? 256;
  if (!(Number.isInteger(attempts) && attempts >= 1))
    throw new RangeError(`publishAttempts must be an integer >= 1, got ${attempts}`);

  const settings = opts.emergency();
  const bucket = new TokenBucket(
    { capacity: settings.tokenBucketCapacity, refillPerMinute: settings.tokenRefillPerMinute },
    opts.now ?? Date.now,
  );
  const publisher = new StreamPublisher(bus, attemptDeadlineMs);
  const subjects: Record<RouteDestination, string> = {
    normal: concreteSubject(bus.namespace, "telemetryNormal", undefined),
    emergency: concreteSubject(bus.namespace, "telemetryEmergency", undefined),
  };

  let received = 0;
  let rejected = 0;
  const rejectedByField = new Map<string, number>();
  const stored: Record<RouteDestination, number> = { normal: 0, emergency: 0 };
  let duplicates = 0;
  let throttled = 0;
  const byPriority = new Map<string, number>();
  const bySource = new Map<string, SourceCounters>();
  let dropped = 0;
  let discarded = 0;
  let publishRetries = 0;
  let publishFailures = 0;

  const sourceOf = (name: string): SourceCounters => {
    let counters = bySource.get(name);
    if (counters === undefined) {
      if (bySource.size >= maxSources) return sourceOf(OTHER_SOURCES);
      counters = { received: 0, throttled: 0 };
      bySource.set(name, counters);
    }
    return counters;
  };

  const followSettings = (): void => {
    const s = opts.emergency();
    const now = bucket.current;
    if (s.tokenBucketCapacity !== now.capacity || s.tokenRefillPerMinute !== now.refillPerMinute)
      bucket.reconfigure({ capacity: s.tokenBucketCapacity, refillPerMinute: s.tokenRefillPerMinute });
  };

  const store = async (packet: TelemetryPacket, to: RouteDestination, marked: boolean): Promise<void> => {
    const headers = outgoingHeaders("TelemetryPacket", packet, { messageId: packet.packetId });
    if (marked) headers.set(HeaderNames.throttled, "true");
    const data = encode("TelemetryPacket", packet);
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) {
        publishRetries++;
        await new Promise((r) => setTimeout(r, retryDelayMs * (attempt - 1)));
      }
      let ack: StreamAck;
      try {
        ack = await publisher.store(subjects[to], data, headers);
      } catch (err) {
        lastError = err;
        if (publisher.isClosed) break;
        continue;
      }
      stored[to]++;
      if (ack.duplicate) duplicates++;
      return;
    }
    publishFailures++;
    events.event("weatherlight.telemetry.publish_failed", {
      level: "ERROR",
      description: `telemetry packet ${packet.packetId} from ${packet.sourceSubsystem} not stored on ${subjects[to]}: ${
        lastError instanceof Error ? lastError.message : String(lastError)
      }`,
      attributes: {
        packetId: packet.packetId,
        source: packet.sourceSubsystem,
        destination: to,
        throttled: String(marked),
        failures: String(publishFailures),
      },
    });
  };

  const route = (packet: TelemetryPacket): Promise<void> => {
    if (packet.priority !== MessagePriority.CRITICAL) return store(packet, "normal", false);
    followSettings();
    if (bucket.tryTake()) return store(packet, "emergency", false);
    throttled++;
    sourceOf(packet.sourceSubsystem).throttled++;
    if (throttled === 1 || throttled % 1000 === 0) {
      events.event("weatherlight.telemetry.throttled", {
        level: "WARNING",
        description: `emergency token bucket empty: CRITICAL packets go to the normal stream marked throttled (${throttled} so far)`,
        attributes: { throttled: String(throttled), source: packet.sourceSubsystem },
      });
    }
    return store(packet, "normal", true);
  };

  const runner = new BoundedRunner<TelemetryPacket>(route, maxInFlight, queueCapacity, {
    onBehind(pending) {
      events.event("weatherlight.telemetry.behind", {
        level: "WARNING",
        description: `telemetry routing is behind: ${pending} packets queued of ${queueCapacity}`,
        attributes: { pending: String(pending) },
      });
    },
    onCaughtUp(pending) {
      events.event("weatherlight.telemetry.caught_up", {
        level: "INFO",
        description: `telemetry routing caught up: ${pending} packets queued`,
        attributes: { pending: String(pending) },
      });
    },
    onDropped(pending) {
      dropped++;
      if (dropped === 1 || dropped % 1000 === 0) {
        events.event("weatherlight.telemetry.dropped", {
          level: "ERROR",
          description: `telemetry queue full (${pending} packets): ${dropped} packets dropped unrouted so far`,
          attributes: { dropped: String(dropped) },
        });
      }
    },
    onRunError(err) {
      publishFailures++;
      events.event("weatherlight.telemetry.publish_failed", {
        level: "ERROR",
        description: `telemetry packet not routed: ${err instanceof Error ? err.message : String(err)}`,
        attributes: { failures: String(publishFailures) },
      });
    },
    onDiscarded(count) {
      discarded += count;
      events.event("weatherlight.telemetry.discarded", {
        level: "ERROR",
        description: `${count} telemetry packets discarded unrouted at stop`,
        attributes: { discarded: String(discarded) },
      });
    },
  });

  const onRefused = (_subject: string, error: ContractError): void => {
    rejected++;
    const field = fieldLabel("TelemetryPacket", error.path);
    rejectedByField.set(field, (rejectedByField.get(field) ?? 0) + 1);
  };

  const intake: BusSubscription = listenTyped(
    bus,
    subjectFilter(bus.namespace, "telemetryRaw"),
    "TelemetryPacket",
    (packet) => {
      received++;
      const priority = priorityNames.get(packet.priority) ?? String(packet.priority);
      byPriority.set(priority, (byPriority.get(priority) ?? 0) + 1);
      sourceOf(packet.sourceSubsystem).received++;
      opts.onPacket?.(packet);
      runner.push(packet);
    },
    { onRefused, queue: TELEMETRY_ROUTER_QUEUE },
  );

  let stopping: Promise<void> | undefined;
  return {
    stats: () => ({
      received,
      rejected,
      rejectedByField: Object.fromEntries(rejectedByField),
      stored: { ...stored },
      duplicates,
      throttled,
      byPriority: Object.fromEntries(byPriority),
      bySource: Object.fromEntries([...bySource].map(([k, v]) => [k, { ...v }])),
      queueDepth: runner.pending,
      inFlight: publisher.inFlight,
      dropped,
      discarded,
      publishRetries,
      publishFailures,
      emergencyTokens: bucket.tokens(),
    }),
    stop(graceMs = 5_000) {
      stopping ??= (async () => {
        await intake.stop(graceMs);
        if (!(await settlesWithin(runner.idle(), graceMs))) runner.discard();
        publisher.close();
      })();
      return stopping;
    },
  };
}
