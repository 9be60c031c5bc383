import { connect, type NatsConnection, type Status } from "@nats-io/transport-node";
import { subjectFilter } from "../contracts/subjects.ts";
import { BusMetrics } from "./metrics.ts";
import type { BusEventAttributes, BusEventLevel, BusObserver } from "./observer.ts";
import { settlesWithin } from "./settles-within.ts";

/** Where a NATS server is and how to authenticate to it. */
export interface BusAddress {
  /** One or more server URLs, e.g. `nats://127.0.0.1:4222`. */
  readonly servers: string | readonly string[];
  readonly user?: string;
  readonly pass?: string;
}

/** Options of {@link connectBus}. */
export interface BusConnectionOptions extends BusAddress {
  /** Connection name shown by the server (e.g. the actor name). */
  readonly name: string;
  /** Subject namespace (ARCHITECTURE §3), a single subject token such as `esper`. */
  readonly namespace: string;
  /** How long to keep retrying the first connection before failing; default 10 000 ms. */
  readonly connectWindowMs?: number;
  /** Base delay of the reconnect backoff; default 250 ms. */
  readonly reconnectBaseMs?: number;
  /** Ceiling of the reconnect backoff; default 5 000 ms. */
  readonly reconnectMaxMs?: number;
  /** Receives status events (disconnect, reconnect, slow consumer, rejected messages, dead letters). */
  readonly observer?: BusObserver;
  /** Grace period of `close()`: for each close hook (subscriptions' handlers) and for the drain; default 5 000 ms. */
  readonly drainTimeoutMs?: number;
}

/** The first connection could not be made within the connect window. */
export class BusConnectionError extends Error {
  override readonly name = "BusConnectionError";
  constructor(
    readonly servers: readonly string[],
    readonly attempts: number,
    override readonly cause: unknown,
  ) {
    super(
      `cannot connect to NATS at ${servers.join(", ")} after ${attempts} attempt(s): ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
    );
  }
}

/** An open, named NATS connection with its namespace, counters and event sink. */
export interface BusConnection {
  readonly name: string;
  readonly namespace: string;
  /** The underlying nats.js connection, for modules of `bus/` only. */
  readonly nc: NatsConnection;
  readonly metrics: BusMetrics;
  /** Reports an event to the observer (no-op without one). */
  emit(name: string, level: BusEventLevel, attributes: BusEventAttributes): void;
  /**
   * Registers work to finish before the connection drains (e.g. stopping consumers), given the close
   * grace period (`drainTimeoutMs`); returns its removal.
   */
  onClose(hook: (graceMs: number) => Promise<void>): () => void;
  /**
   * Runs the close hooks (every subscription stops, reporting what it discards), drains and closes;
   * resolves when closed. Safe to call twice.
   */
  close(): Promise<void>;
  /** Resolves when the connection has closed (by `close()` or for good after a fatal error). */
  readonly closed: Promise<void>;
  /**
   * Resolves once the server has processed everything sent on this connection before the call (a
   * PING round trip): the subscriptions made before it receive what others publish from then on.
   */
  flush(): Promise<void>;
}

/**
 * Connects to NATS. Retries the first connection with jittered exponential backoff until
 * `connectWindowMs` has passed, then throws {@link BusConnectionError} naming the URL(s) and the cause.
 * Once connected, reconnects forever with jittered backoff and reports status events to the observer.
 */
export async function connectBus(opts: BusConnectionOptions): Promise<BusConnection> {
  subjectFilter(opts.namespace, "heartbeat"); // throws SubjectError when the namespace is not one token
  const servers = typeof opts.servers === "string" ? [opts.servers] : [...opts.servers];
  const windowMs = opts.connectWindowMs ?? 10_000;
  const base = opts.reconnectBaseMs ?? 250;
  const max = opts.reconnectMaxMs ?? 5_000;
  const observer = opts.observer;
  const emit = (name: string, level: BusEventLevel, attributes: BusEventAttributes): void => {
    if (observer) observer.onEvent({ name, level, attributes: { connection: opts.name, ...attributes } });
  };
  let reconnectAttempt = 0;
  const started = Date.now();
  let attempts = 0;
  let nc: NatsConnection | undefined;
  while (nc === undefined) {
    attempts++;
    const remaining = windowMs - (Date.now() - started);
    try {
      nc = await connect({
        servers,
        name: opts.name,
        ...(opts.user !== undefined ? { user: opts.user } : {}),
        ...(opts.pass !== undefined ? { pass: opts.pass } : {}),
        timeout: Math.max(250, Math.min(2_000, remaining)),
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectDelayHandler: () => backoffDelay(reconnectAttempt++, base, max),
        // Without it nats.js captures up to four stack traces per request (and JetStream publish), one
        // even when the reply arrives: tens of µs each time. Our failures carry their own context
        // (BusRequestError and StreamPublishError name the subject; our awaits keep async stacks).
        noAsyncTraces: true,
      });
    } catch (err) {
      const left = windowMs - (Date.now() - started);
      if (left <= 0) throw new BusConnectionError(servers, attempts, err);
      const wait = Math.min(left, backoffDelay(attempts - 1, base, max));
      emit("bus.connect_retry", "warn", {
        servers: servers.join(","),
        attempt: attempts,
        waitMs: wait,
        error: String(err),
      });
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  const conn = nc;
  const metrics = new BusMetrics();
  void watchStatus(conn, metrics, emit, () => {
    reconnectAttempt = 0;
  });
  emit("bus.connected", "info", { server: conn.getServer(), attempts });

  const hooks: ((graceMs: number) => Promise<void>)[] = [];
  let closing: Promise<void> | undefined;
  const drainTimeoutMs = opts.drainTimeoutMs ?? 5_000;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const hook of hooks.splice(0)) {
        try {
          await hook(drainTimeoutMs);
        } catch (err) {
          emit("bus.close_hook_failed", "error", { error: String(err) });
        }
      }
      if (conn.isClosed()) return;
      let reason = `not drained within ${drainTimeoutMs} ms`;
      try {
        if (await settlesWithin(conn.drain(), drainTimeoutMs)) return;
      } catch (err) {
        reason = String(err);
      }
      emit("bus.drain_incomplete", "warn", { reason });
      await conn.close();
    })();
    return closing;
  };
  return {
    name: opts.name,
    namespace: opts.namespace,
    nc: conn,
    metrics,
    emit,
    onClose: (hook) => {
      hooks.push(hook);
      return () => {
        const i = hooks.indexOf(hook);
        if (i >= 0) hooks.splice(i, 1);
      };
    },
    close,
    closed: conn.closed().then(() => undefined),
    flush: () => conn.flush(),
  };
}

/** Exponential backoff with jitter: a uniform delay in [d/2, d] where d = min(max, base·2^attempt). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  const d = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(d / 2 + Math.random() * (d / 2));
}

async function watchStatus(
  nc: NatsConnection,
  metrics: BusMetrics,
  emit: (name: string, level: BusEventLevel, attributes: BusEventAttributes) => void,
  onReconnect: () => void,
): Promise<void> {
  for await (const s of nc.status()) reportStatus(s, metrics, emit, onReconnect);
}

function reportStatus(
  s: Status,
  metrics: BusMetrics,
  emit: (name: string, level: BusEventLevel, attributes: BusEventAttributes) => void,
  onReconnect: () => void,
): void {
  switch (s.type) {
    case "disconnect":
      metrics.disconnected();
      emit("bus.disconnected", "warn", { server: s.server });
      return;
    case "reconnecting":
      emit("bus.reconnecting", "debug", {});
      return;
    case "reconnect":
      metrics.reconnected();
      onReconnect();
      emit("bus.reconnected", "info", { server: s.server });
      return;
    case "slowConsumer": {
      const subject = s.sub.getSubject();
      metrics.slowConsumer(subject);
      metrics.pending(subject, s.pending);
      emit("bus.slow_consumer", "warn", { subject, pending: s.pending });
      return;
    }
    case "error":
      emit("bus.server_error", "error", { error: s.error.message });
      return;
    case "ldm":
      emit("bus.lame_duck", "warn", { server: s.server });
      return;
    case "staleConnection":
      emit("bus.stale_connection", "warn", {});
      return;
    case "close":
      emit("bus.closed", "info", {});
      return;
    case "update":
    case "ping":
    case "forceReconnect":
      emit(`bus.${s.type}`, "debug", {});
      return;
  }
}
