import { randomUUID } from "node:crypto";
import { type BusConnection, connectBus } from "../../bus/connection.ts";
import { consume, RetryableError } from "../../bus/jetstream/consume.ts";
import type { BusEvent } from "../../bus/observer.ts";
import { publish, serve, subscribe } from "../../bus/typed.ts";
import type { ControlReply } from "../../contracts/messages/runtime.ts";
import type { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import {
  type ActorContext,
  type ActorDefinition,
  ActorExitCode,
  type ActorMailboxOptions,
  type Delivery,
  type RunActorOptions,
  type StreamDelivery,
} from "./actor-types.ts";
import { onViolation } from "./dependency-guard.ts";
import { Heartbeater } from "./heartbeat.ts";
import { Lifecycle } from "./lifecycle.ts";
import { createLogger, type Logger } from "./logger.ts";
import { Mailbox, MailboxClosedError } from "./mailbox.ts";
import { loadProcessSettings, type ProcessSettings, ProcessSettingsError } from "./process-settings.ts";
import { recordRuntimeMetrics } from "./runtime-metrics.ts";
import { kvSettingsSource, settingsKeyLabel } from "./settings-source.ts";
import { type SettingsApplied, SettingsWatcher } from "./settings-watcher.ts";
import { TaskQueue } from "./task-queue.ts";
import { TelemetryEmitter } from "./telemetry.ts";

/** A started actor: its lifecycle, a way to ask it to drain, and its exit code once stopped. */
export interface ActorHandle {
  readonly lifecycle: Lifecycle;
  /** Starts a drain (as SIGTERM does); later calls are ignored. */
  drain(reason: string): void;
  /** Resolves with the exit code when the actor has stopped or failed. */
  readonly done: Promise<ActorExitCode>;
}

const NAME = /^[a-z0-9_-]+$/;
/** Extra time past the drain grace before the process is forced out (bus close, final flush). */
const HARD_STOP_MARGIN_MS = 3_000;

/**
 * Runs an actor: created → preflight (process settings, bus connection, worker settings, the actor's
 * checks) → running → draining → stopped, or failed. A failed preflight publishes CRITICAL
 * `<actor>.lifecycle.preflight_failed`, writes the reason to stderr and ends with exit code 1.
 * SIGTERM/SIGINT (or `drain`) stop intake, let in-flight work finish within the worker settings'
 * `shutdownGraceMs`, flush telemetry, close the connection and end with 0; a second signal ends at
 * once with 3; work cut off at the grace deadline ends with 4.
 */
export function startActor(def: ActorDefinition, opts: RunActorOptions = {}): ActorHandle {
  if (!NAME.test(def.name)) throw new RangeError(`actor name '${def.name}' must match ${NAME.source}`);
  const lifecycle = new Lifecycle();
  let requestDrain: (reason: string) => void = () => {};
  const drainRequested = new Promise<string>((resolve) => {
    requestDrain = resolve;
  });
  const done = run(def, opts, lifecycle, drainRequested, (r) => requestDrain(r));
  return { lifecycle, drain: (reason) => requestDrain(reason), done };
}

async function run(
  def: ActorDefinition,
  opts: RunActorOptions,
  lifecycle: Lifecycle,
  drainRequested: Promise<string>,
  requestDrain: (reason: string) => void,
): Promise<ActorExitCode> {
  let processSettings: ProcessSettings;
  try {
    processSettings = loadProcessSettings(opts.env ?? process.env);
  } catch (error) {
    if (!(error instanceof ProcessSettingsError)) throw error;
    process.stderr.write(`${def.name}: ${error.message}\n`);
    lifecycle.transition("failed", error.message);
    return ActorExitCode.badConfig;
  }
  const runId = processSettings.runId ?? randomUUID();
  const log = createLogger({
    actor: def.name,
    instanceId: processSettings.instanceId,
    runId,
    level: processSettings.logLevel,
    ...(processSettings.logPretty !== undefined ? { pretty: processSettings.logPretty } : {}),
  });
  if (processSettings.runId === undefined)
    log.info("ESPER_RUN_ID not set: generated a run id for this standalone start");
  lifecycle.onChange((c) =>
    log.info({ from: c.from, to: c.to, reason: c.reason }, `lifecycle ${c.from} → ${c.to}`),
  );

  const signals = opts.handleSignals === false ? undefined : installSignals(def.name, log, requestDrain);
  try {
    return await runLifecycle(
      def,
      opts,
      new Runtime(def, processSettings, runId, log, lifecycle, requestDrain),
      {
        lifecycle,
        log,
        drainRequested,
        armHardStop: (ms) => signals?.armHardStop(ms),
      },
    );
  } finally {
    signals?.remove();
  }
}

/** Preflight → running → (drain requested) → drain, or failed. */
async function runLifecycle(
  def: ActorDefinition,
  opts: RunActorOptions,
  rt: Runtime,
  env: {
    lifecycle: Lifecycle;
    log: Logger;
    drainRequested: Promise<string>;
    armHardStop: (ms: number) => void;
  },
): Promise<ActorExitCode> {
  const { lifecycle, log } = env;
  try {
    lifecycle.transition("preflight");
    const failure = await rt.preflight(opts);
    if (failure !== undefined) {
      process.stderr.write(`${def.name}: preflight failed: ${failure}\n`);
      lifecycle.transition("failed", failure);
      await rt.closeAfterFailure();
      return ActorExitCode.failed;
    }
    lifecycle.transition("running");
    rt.startRunning();
    await def.start(rt.context());
  } catch (error) {
    const reason = errorText(error);
    log.fatal({ err: error }, "actor failed");
    process.stderr.write(`${def.name}: failed: ${reason}\n`);
    rt.criticalEvent("lifecycle", "failed", reason);
    if (!lifecycle.terminal) lifecycle.transition("failed", reason);
    await rt.closeAfterFailure();
    return ActorExitCode.failed;
  }
  const reason = await env.drainRequested;
  env.armHardStop(rt.settings().worker.shutdownGraceMs + HARD_STOP_MARGIN_MS);
  return rt.drain(reason);
}

/** The parts of a running actor and their wiring. */
class Runtime {
  private bus: BusConnection | undefined;
  private watcher: SettingsWatcher | undefined;
  private worker: TaskQueue | undefined;
  private telemetry: TelemetryEmitter | undefined;
  private heartbeater: Heartbeater | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly mailboxes = new Map<
    string,
    { box: Mailbox<never>; fixed: { capacity: boolean; concurrency: boolean } }
  >();
  private readonly stopIntake: ((graceMs: number) => Promise<void>)[] = [];
  private readonly drainSignal = new AbortController();
  private readonly startedAt = Date.now();
  private lastError: string | undefined;
  private offViolation: () => void = () => {};
  private ctx: ActorContext | undefined;

  constructor(
    private readonly def: ActorDefinition,
    private readonly proc: ProcessSettings,
    private readonly runId: string,
    private readonly log: Logger,
    private readonly lifecycle: Lifecycle,
    private readonly requestDrain: (reason: string) => void,
  ) {}

  settings(): WorkerSettings {
    if (!this.watcher) throw new Error("worker settings are not loaded yet");
    return this.watcher.settings;
  }

  context(): ActorContext {
    if (!this.ctx) throw new Error("the actor context exists only after preflight connected the bus");
    return this.ctx;
  }

  /** Runs every preflight step; returns the failure reason, or undefined when all passed. */
  async preflight(opts: RunActorOptions): Promise<string | undefined> {
    const name = this.def.name;
    try {
      this.bus = await connectBus({
        name: `${name}-${this.proc.instanceId}`,
        namespace: this.proc.namespace,
        servers: this.proc.natsServers,
        ...(this.proc.natsCredentials ?? {}),
        connectWindowMs: this.proc.connectTimeoutMs,
        observer: { onEvent: (e) => this.onBusEvent(e) },
      });
    } catch (error) {
      return this.preflightFailed("nats", error);
    }
    const bus = this.bus;
    const telemetry = new TelemetryEmitter({
      actor: name,
      publish: async (packet) => publish(bus, "telemetryRaw", packet, { params: { actor: name } }),
    });
    this.telemetry = telemetry;
    this.offViolation = onViolation((v) =>
      telemetry.event(`${name}.dependency_guard.violation`, {
        level: "CRITICAL",
        description: v.message,
        attributes: { kind: v.kind, what: v.what, reason: v.reason },
      }),
    );
    try {
      const source = await (opts.settingsSource ?? kvSettingsSource)(bus, this.proc.namespace);
      this.watcher = await SettingsWatcher.load(source);
    } catch (error) {
      return this.preflightFailed("worker-settings", error);
    }
    if (this.watcher.origin === "schema-defaults") {
      this.log.info("no worker settings stored: using the WorkerSettings schema defaults");
    }
    const settings = this.watcher.settings;
    this.worker = new TaskQueue(settings.worker);
    this.ctx = this.buildContext(bus, telemetry, this.worker);
    for (const check of this.def.preflight ?? []) {
      try {
        await check.run(this.ctx);
        this.log.info({ check: check.name }, "preflight check passed");
      } catch (error) {
        return this.preflightFailed(check.name, error);
      }
    }
    return undefined;
  }

  /** Starts heartbeats, telemetry flushing, settings watching and the control subject. */
  startRunning(): void {
    const bus = this.requireBus();
    const settings = this.settings();
    const name = this.def.name;
    this.heartbeater = new Heartbeater({
      intervalMs: settings.cadence.heartbeatIntervalMs,
      build: () => ({
        actor: name,
        instanceId: this.proc.instanceId,
        runId: this.runId,
        pid: process.pid,
        state: this.lifecycle.state,
        uptimeMs: Date.now() - this.startedAt,
        timestampMs: Date.now(),
        ...(this.lastError !== undefined ? { lastError: this.lastError.slice(0, 4096) } : {}),
        mailboxDepths: Object.fromEntries([...this.mailboxes].slice(0, 64).map(([n, m]) => [n, m.box.depth])),
      }),
      publish: (hb) => publish(bus, "heartbeat", hb, { params: { actor: name } }),
      onError: (error) => this.log.error({ err: error }, "heartbeat publish failed"),
    });
    this.heartbeater.start();
    this.lifecycle.onChange(() => this.heartbeater?.beat());
    this.scheduleFlush(settings.cadence.telemetryFlushIntervalMs);
    this.watcher
      ?.watch({
        onApplied: (change) => this.applySettings(change),
        onRejected: (r) => {
          const rev = r.revision === undefined ? "" : ` revision ${r.revision}`;
          this.log.error(
            { revision: r.revision, field: r.field, reason: r.reason },
            "worker settings change rejected",
          );
          this.telemetry?.event(`${name}.settings.rejected`, {
            level: "ERROR",
            description: `worker settings change${rev} rejected; previous values kept: ${r.reason}`.slice(
              0,
              4096,
            ),
            attributes: { revision: String(r.revision ?? "unknown"), field: r.field },
          });
        },
        onError: (error) => this.reportError("settings", error),
      })
      .catch((error: unknown) => this.reportError("settings", error));
    const control = serve(
      bus,
      "control",
      (req): ControlReply => {
        const reply = (ok: boolean, message: string): ControlReply => ({
          requestId: req.requestId,
          actor: name,
          instanceId: this.proc.instanceId,
          ok,
          state: this.lifecycle.state,
          message,
        });
        if (req.verb === "drain") {
          this.requestDrain(`control request ${req.requestId}`);
          return reply(true, "draining");
        }
        if (req.verb === "status") return reply(true, JSON.stringify({ worker: this.worker?.metrics() }));
        return reply(true, "pong");
      },
      { params: { actor: name } },
    );
    this.stopIntake.push(() => control.stop());
  }

  /** Drains: stop intake, let work finish within the grace, flush, close. Returns the exit code. */
  async drain(reason: string): Promise<ActorExitCode> {
    const graceMs = this.settings().worker.shutdownGraceMs;
    const deadline = Date.now() + graceMs;
    const left = () => Math.max(0, deadline - Date.now());
    this.lifecycle.transition("draining", reason);
    this.drainSignal.abort(new Error(`draining: ${reason}`));
    let cutOff = 0;
    try {
      if (this.def.stop) await withTimeout(this.def.stop(this.context()), left(), "actor stop");
    } catch (error) {
      this.reportError("lifecycle", error);
      cutOff++;
    }
    try {
      const stops = await withTimeout(
        Promise.allSettled(this.stopIntake.map((s) => s(left()))),
        left(),
        "intake stop",
      );
      for (const s of stops) if (s.status === "rejected") this.reportError("lifecycle", s.reason);
    } catch (error) {
      this.reportError("lifecycle", error);
      cutOff++;
    }
    const reports = await Promise.all([...this.mailboxes.values()].map((m) => m.box.drain(left())));
    for (const r of reports) cutOff += r.abandonedQueued + r.abortedInFlight;
    const workerReport = await this.worker?.shutdown(left());
    cutOff += workerReport?.abortedAtGrace.length ?? 0;
    this.log.info({ reason, mailboxes: reports, worker: workerReport, cutOff }, "drained");
    await this.watcher?.stop();
    this.heartbeater?.stop();
    const code = cutOff > 0 ? ActorExitCode.graceExpired : ActorExitCode.ok;
    this.telemetry?.event(`${this.def.name}.lifecycle.drained`, {
      level: code === ActorExitCode.ok ? "INFO" : "WARNING",
      description: `drained after ${reason}${cutOff > 0 ? `; ${cutOff} item(s) cut off at the ${graceMs} ms grace` : ""}`,
      attributes: { reason, cut_off: String(cutOff) },
    });
    this.lifecycle.transition("stopped", reason);
    await this.closeOut();
    return code;
  }

  /** Flushes what can be flushed and closes the connection after a failure. */
  async closeAfterFailure(): Promise<void> {
    this.heartbeater?.stop();
    await this.watcher?.stop().catch((error: unknown) => this.reportError("settings", error));
    await this.worker?.shutdown(0);
    await this.closeOut();
  }

  criticalEvent(area: string, what: string, reason: string): void {
    this.telemetry?.event(`${this.def.name}.${area}.${what}`, { level: "CRITICAL", description: reason });
  }

  private async closeOut(): Promise<void> {
    if (this.flushTimer !== undefined) clearInterval(this.flushTimer);
    if (this.telemetry) {
      recordRuntimeMetrics(this.telemetry, this.worker, this.mailboxes.values());
      await withTimeout(this.telemetry.flush(), 2_000, "final telemetry flush").catch((e: unknown) =>
        this.log.warn({ err: e }, "final telemetry flush incomplete"),
      );
    }
    this.offViolation();
    await this.bus?.close();
  }

  private preflightFailed(check: string, error: unknown): string {
    const reason = `check '${check}' failed: ${errorText(error)}`;
    this.log.fatal({ check, err: error }, "preflight failed");
    this.telemetry?.event(`${this.def.name}.lifecycle.preflight_failed`, {
      level: "CRITICAL",
      description: reason,
      attributes: { check },
    });
    return reason;
  }

  private applySettings(change: SettingsApplied): void {
    const { next } = change;
    this.worker?.reconfigure(next.worker);
    for (const { box, fixed } of this.mailboxes.values()) {
      box.reconfigure({
        ...(fixed.capacity ? {} : { capacity: next.mailbox.capacity }),
        ...(fixed.concurrency ? {} : { concurrency: next.mailbox.concurrency }),
      });
    }
    this.heartbeater?.setInterval(next.cadence.heartbeatIntervalMs);
    this.scheduleFlush(next.cadence.telemetryFlushIntervalMs);
    this.log.info({ revision: change.revision, changed: change.changed }, "worker settings applied");
    this.telemetry?.event(`${this.def.name}.settings.applied`, {
      level: "INFO",
      description: `worker settings revision ${change.revision} applied`,
      attributes: { revision: String(change.revision), changed: change.changed.join(",").slice(0, 4096) },
    });
    if (this.def.onSettings && this.ctx) this.def.onSettings(change, this.ctx);
  }

  private scheduleFlush(intervalMs: number): void {
    if (this.flushTimer !== undefined) clearInterval(this.flushTimer);
    this.flushTimer = setInterval(() => {
      const t = this.telemetry;
      if (!t) return;
      recordRuntimeMetrics(t, this.worker, this.mailboxes.values());
      t.flush().catch((error: unknown) => this.reportError("telemetry", error));
    }, intervalMs);
  }

  private onBusEvent(e: BusEvent): void {
    this.log[e.level]({ ...e.attributes }, e.name);
    if (e.name === "bus.message_rejected" && e.attributes.subject === settingsKeyLabel(this.proc.namespace)) {
      this.watcher?.rejectInvalid(String(e.attributes.reason), String(e.attributes.field));
    }
    if ((e.level === "warn" || e.level === "error") && this.telemetry) {
      const attributes = Object.fromEntries(
        Object.entries(e.attributes).map(([k, v]) => [k, String(v).slice(0, 4096)]),
      );
      this.telemetry.event(`${this.def.name}.${e.name}`, {
        level: e.level === "warn" ? "WARNING" : "ERROR",
        description: e.name,
        attributes,
      });
    }
  }

  reportError(area: string, error: unknown): void {
    this.lastError = errorText(error);
    this.log.error({ area, err: error }, `${area} error`);
    this.telemetry?.event(`${this.def.name}.${area}.error`, {
      level: "ERROR",
      description: this.lastError.slice(0, 4096),
    });
  }

  private requireBus(): BusConnection {
    if (!this.bus) throw new Error("bus is not connected");
    return this.bus;
  }

  private buildContext(bus: BusConnection, telemetry: TelemetryEmitter, worker: TaskQueue): ActorContext {
    const createMailbox = <M>(o: ActorMailboxOptions<M>): Mailbox<M> => {
      if (!NAME.test(o.name)) throw new RangeError(`mailbox name '${o.name}' must match ${NAME.source}`);
      if (this.mailboxes.has(o.name)) throw new Error(`mailbox '${o.name}' already exists`);
      const s = this.settings().mailbox;
      const box = new Mailbox<M>({
        name: o.name,
        mode: o.mode,
        capacity: o.capacity ?? s.capacity,
        concurrency: o.concurrency ?? s.concurrency,
        handler: o.handler,
        onError: (error) => this.reportError(`mailbox.${o.name}`, error),
      });
      this.mailboxes.set(o.name, {
        box: box as unknown as Mailbox<never>,
        fixed: { capacity: o.capacity !== undefined, concurrency: o.concurrency !== undefined },
      });
      return box;
    };
    return {
      name: this.def.name,
      process: this.proc,
      runId: this.runId,
      log: this.log,
      bus,
      worker,
      telemetry,
      signal: this.drainSignal.signal,
      settings: () => this.settings(),
      mailbox: createMailbox,
      subscribe: (key, handler, o) => {
        const box = createMailbox<Delivery<Parameters<typeof handler>[0]>>({
          name: o.mailbox,
          mode: o.mode,
          handler: (d, signal) => handler(d.msg, d.ctx, signal),
          ...(o.capacity !== undefined ? { capacity: o.capacity } : {}),
          ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
        });
        const sub = subscribe(
          bus,
          key,
          (msg, ctx) =>
            box.push({ msg, ctx }).catch((error: unknown) => {
              if (!(error instanceof MailboxClosedError)) throw error;
              this.telemetry?.event(`${this.def.name}.mailbox.dropped_after_close`, {
                level: "WARNING",
                description: `a message arrived on ${ctx.subject} after mailbox ${o.mailbox} closed (draining)`,
                attributes: { subject: ctx.subject, mailbox: o.mailbox },
              });
            }),
          { ...(o.params !== undefined ? { params: o.params } : {}), maxInFlight: 1 } as Parameters<
            typeof subscribe<typeof key>
          >[3],
        );
        this.stopIntake.push(() => sub.stop());
        return box;
      },
      consume: async (ref, handler, o) => {
        const box = createMailbox<StreamDelivery<Parameters<typeof handler>[0]>>({
          name: o.mailbox,
          mode: o.mode,
          handler: (d, signal) => handler(d.msg, d.ctx, signal),
          ...(o.capacity !== undefined ? { capacity: o.capacity } : {}),
          ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
        });
        const consumer = await consume(bus, ref, (msg, ctx) =>
          box.handle({ msg, ctx }).catch((error: unknown) => {
            if (error instanceof MailboxClosedError) throw new RetryableError(`${this.def.name} is draining`);
            throw error;
          }),
        );
        this.stopIntake.push((graceMs) => consumer.stop(graceMs));
        return box;
      },
      reportError: (area, error) => this.reportError(area, error),
    };
  }
}

interface SignalHandling {
  armHardStop(afterMs: number): void;
  remove(): void;
}

/** SIGTERM/SIGINT: the first starts a drain, the second exits at once with ActorExitCode.forced. */
function installSignals(name: string, log: Logger, requestDrain: (reason: string) => void): SignalHandling {
  let received = 0;
  let hardStop: NodeJS.Timeout | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    received++;
    if (received === 1) {
      log.info({ signal: sig }, "signal received: draining");
      requestDrain(sig);
      return;
    }
    log.error({ signal: sig }, "second signal: exiting without finishing the drain");
    process.stderr.write(`${name}: second ${sig} during drain: forced exit\n`);
    process.exit(ActorExitCode.forced);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return {
    armHardStop(afterMs) {
      hardStop = setTimeout(() => {
        log.error({ afterMs }, "drain did not finish: forced exit");
        process.stderr.write(`${name}: drain did not finish within ${afterMs} ms: forced exit\n`);
        process.exit(ActorExitCode.graceExpired);
      }, afterMs);
      hardStop.unref();
    },
    remove() {
      if (hardStop !== undefined) clearTimeout(hardStop);
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
