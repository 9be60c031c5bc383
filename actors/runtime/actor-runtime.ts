import { type BusConnection, connectBus } from "../../bus/connection.ts";
import type { BusEvent } from "../../bus/observer.ts";
import { publish } from "../../bus/typed.ts";
import { compileRemaining } from "../../contracts/compiled.ts";
import type { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import type { ActorContext, ActorDefinition, ActorMailboxOptions, RunActorOptions } from "./actor-types.ts";
import { type ControlServer, serveControl } from "./control-server.ts";
import { onViolation } from "./dependency-guard.ts";
import { ActorExitCode } from "./exit-codes.ts";
import { Heartbeater } from "./heartbeat.ts";
import { consumeIntake, type IntakeHost, serveIntake, subscribeIntake } from "./intake-adapters.ts";
import type { Lifecycle } from "./lifecycle.ts";
import type { Logger } from "./logger.ts";
import { LongTasks } from "./long-tasks.ts";
import { Mailbox } from "./mailbox.ts";
import type { ProcessSettings } from "./process-settings.ts";
import { DropReporter, recordRuntimeMetrics } from "./runtime-metrics.ts";
import { bootstrapSettings } from "./settings-bootstrap.ts";
import { kvSettingsSource, settingsKeyLabel } from "./settings-source.ts";
import { type SettingsApplied, SettingsWatcher } from "./settings-watcher.ts";
import { TaskQueue } from "./task-queue.ts";
import { TelemetryEmitter } from "./telemetry.ts";

/** A token of [a-z0-9_-]: actor and mailbox names. */
export const TOKEN = /^[a-z0-9_-]+$/;

/**
 * Least time given to stopping intake (a subscription drain is a round trip to the server), even when
 * the grace is shorter: until it has stopped, messages still arrive and are not yet accounted for.
 */
const INTAKE_STOP_MIN_MS = 2_000;

/** A failure that ends the actor: its exit code and reason. */
export interface Failure {
  readonly code: ActorExitCode;
  readonly reason: string;
}

/** The outcome of a promise, never rejecting. */
export type Settled = Promise<{ readonly ok: true } | { readonly ok: false; readonly error: unknown }>;

/** `p`'s outcome as a value (`ok` or the error), so it can be raced and awaited more than once. */
export function settled(p: Promise<void>): Settled {
  return p.then(
    () => ({ ok: true as const }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/**
 * The parts of a running actor and their wiring: preflight, the services of the starting/running
 * phases (heartbeats, telemetry flushing, settings watching, control), failure, the drain sequence,
 * and the ActorContext the actor sees. `startActor` drives it through the lifecycle.
 */
export class Runtime implements IntakeHost {
  private conn: BusConnection | undefined;
  private watcher: SettingsWatcher | undefined;
  private worker: TaskQueue | undefined;
  private telemetry: TelemetryEmitter | undefined;
  private heartbeater: Heartbeater | undefined;
  private control: ControlServer | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly mailboxes = new Map<
    string,
    { box: Mailbox<never>; fixed: { capacity: boolean; concurrency: boolean } }
  >();
  private readonly intakes: ((graceMs: number) => Promise<void>)[] = [];
  private readonly drainSignal = new AbortController();
  private readonly tasks: LongTasks;
  private readonly drops = new DropReporter();
  private readonly startedAt = Date.now();
  private readyAtMs: number | undefined;
  private lastError: string | undefined;
  private failure: Failure | undefined;
  private offViolation: () => void = () => {};
  private ctx: ActorContext | undefined;

  constructor(
    private readonly def: ActorDefinition,
    private readonly proc: ProcessSettings,
    private readonly runId: string,
    private readonly log: Logger,
    private readonly lifecycle: Lifecycle,
    private readonly requestEnd: (reason: string) => void,
  ) {
    this.tasks = new LongTasks(this.drainSignal.signal, log, (name, error) =>
      this.fail(ActorExitCode.taskFailed, `task '${name}' failed: ${errorText(error)}`, error),
    );
  }

  get actor(): string {
    return this.def.name;
  }

  get bus(): BusConnection {
    if (!this.conn) throw new Error("bus is not connected");
    return this.conn;
  }

  settings(): WorkerSettings {
    if (!this.watcher) throw new Error("worker settings are not loaded yet");
    return this.watcher.settings;
  }

  /** The drain budget: the supervisor's own, or the one every other actor uses. */
  graceMs(): number {
    const s = this.settings();
    return this.def.supervisor ? s.supervisor.shutdownGraceMs : s.worker.shutdownGraceMs;
  }

  context(): ActorContext {
    if (!this.ctx) throw new Error("the actor context exists only after preflight connected the bus");
    return this.ctx;
  }

  /** Runs every preflight step; returns the failure, or undefined when all passed. */
  async preflight(opts: RunActorOptions): Promise<Failure | undefined> {
    const name = this.def.name;
    try {
      this.conn = await connectBus({
        name: `${name}-${this.proc.instanceId}`,
        namespace: this.proc.namespace,
        servers: this.proc.natsServers,
        ...(this.proc.natsCredentials ?? {}),
        connectWindowMs: this.proc.connectTimeoutMs,
        observer: { onEvent: (e) => this.onBusEvent(e) },
      });
    } catch (error) {
      return this.preflightFailed("nats", error, ActorExitCode.crashed);
    }
    const bus = this.conn;
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
    if (this.def.supervisor) {
      try {
        const boot = await bootstrapSettings(bus, await this.def.supervisor.initialSettings(this.proc));
        this.log.info(
          { resources: boot.resources, writtenRevision: boot.writtenRevision },
          "bus resources ensured and worker settings written",
        );
      } catch (error) {
        return this.preflightFailed("resources", error, ActorExitCode.preflightFailed);
      }
    }
    try {
      const source = await (opts.settingsSource ?? kvSettingsSource)(bus, this.proc.namespace);
      this.watcher = await SettingsWatcher.load(source);
    } catch (error) {
      return this.preflightFailed("worker-settings", error, ActorExitCode.preflightFailed);
    }
    if (this.watcher.origin === "schema-defaults") {
      this.log.info("no worker settings stored: using the WorkerSettings schema defaults");
    }
    this.worker = new TaskQueue(this.watcher.settings.worker);
    this.ctx = this.buildContext(bus, telemetry, this.worker);
    for (const check of this.def.preflight ?? []) {
      try {
        await check.run(this.ctx);
        this.log.info({ check: check.name }, "preflight check passed");
      } catch (error) {
        return this.preflightFailed(check.name, error, ActorExitCode.preflightFailed);
      }
    }
    return undefined;
  }

  /** Starts heartbeats, telemetry flushing, settings watching and the control server (the `starting` phase). */
  startServices(): void {
    const bus = this.bus;
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
        ...(this.readyAtMs !== undefined ? { readyAtMs: this.readyAtMs } : {}),
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
    this.control = serveControl({
      bus,
      actor: name,
      instanceId: this.proc.instanceId,
      signingKey: this.proc.signingKey,
      security: () => this.settings().security,
      state: () => this.lifecycle.state,
      status: () => this.status(),
      drain: (reason) => this.requestEnd(reason),
      onRefused: (r) => {
        this.log.warn({ ...r }, "control request refused");
        this.telemetry?.event(`${name}.control.refused`, {
          level: "CRITICAL",
          description: `control '${r.verb}' on ${r.subject} refused: ${r.reason}`.slice(0, 4096),
          attributes: {
            verb: r.verb,
            subject: r.subject,
            request_id: r.requestId,
            reason: r.reason.slice(0, 4096),
          },
        });
      },
    });
    const control = this.control;
    this.intakes.push((graceMs) => control.stop(graceMs));
  }

  /** `start()` resolved: the actor is ready; the message schemas it has not used yet are compiled in the background. */
  ready(): void {
    if (this.lifecycle.state !== "starting") return;
    this.readyAtMs = Date.now();
    this.lifecycle.transition("running");
    void compileRemaining(this.drainSignal.signal);
  }

  /** Marks the actor failed (the first failure's code wins), reports it CRITICAL at once and asks for a drain. */
  fail(code: ActorExitCode, reason: string, error?: unknown): void {
    this.lastError = reason;
    if (this.failure === undefined) this.failure = { code, reason };
    this.log.fatal({ err: error, code }, reason);
    process.stderr.write(`${this.def.name}: failed: ${reason}\n`);
    this.telemetry?.event(`${this.def.name}.lifecycle.failed`, {
      level: "CRITICAL",
      description: reason.slice(0, 4096),
      attributes: { exit_code: String(code) },
    });
    this.requestEnd(`failed: ${reason}`.slice(0, 1024));
  }

  /**
   * Drains: the drain signal fires, `start()` is awaited if still running, then the actor's `stop`,
   * intake, mailboxes, long tasks and the worker within the grace; flushes and closes. Returns the exit code.
   */
  async drain(reason: string, started: Settled): Promise<ActorExitCode> {
    const graceMs = this.graceMs();
    const deadline = Date.now() + graceMs;
    const left = () => Math.max(0, deadline - Date.now());
    this.lifecycle.transition("draining", reason);
    this.drainSignal.abort(new Error(`draining: ${reason}`));
    let cutOff = 0;
    if (this.readyAtMs === undefined) {
      this.log.info("drain requested while start() runs: waiting for it to return");
      await started;
    }
    try {
      if (this.def.stop) await withTimeout(this.def.stop(this.context()), left(), "actor stop");
    } catch (error) {
      this.reportError("lifecycle", error);
      cutOff++;
    }
    try {
      const stops = await withTimeout(
        Promise.allSettled(this.intakes.map((s) => s(left()))),
        Math.max(left(), INTAKE_STOP_MIN_MS),
        "intake stop",
      );
      for (const s of stops) if (s.status === "rejected") this.reportError("lifecycle", s.reason);
    } catch (error) {
      this.reportError("lifecycle", error);
      cutOff++;
    }
    const reports = await Promise.all([...this.mailboxes.values()].map((m) => m.box.drain(left())));
    for (const r of reports) cutOff += r.abandonedQueued + r.abortedInFlight;
    const tasksReport = await this.tasks.settle(left());
    cutOff += tasksReport.stillRunning.length;
    const workerReport = await this.worker?.shutdown(left());
    cutOff += workerReport?.abortedAtGrace.length ?? 0;
    const dropped = this.telemetry ? this.drops.report(this.telemetry, this.mailboxes.values()) : 0;
    this.log.info(
      { reason, mailboxes: reports, tasks: tasksReport, worker: workerReport, cutOff, dropped },
      "drained",
    );
    await this.watcher?.stop();
    this.heartbeater?.stop();
    const failure = this.failure;
    const code = failure?.code ?? (cutOff > 0 ? ActorExitCode.graceExpired : ActorExitCode.ok);
    this.telemetry?.event(`${this.def.name}.lifecycle.drained`, {
      level: code === ActorExitCode.ok ? "INFO" : "WARNING",
      description:
        `drained after ${reason}${cutOff > 0 ? `; ${cutOff} item(s) cut off at the ${graceMs} ms grace` : ""}${dropped > 0 ? `; ${dropped} message(s) dropped` : ""}`.slice(
          0,
          4096,
        ),
      attributes: {
        reason: reason.slice(0, 4096),
        cut_off: String(cutOff),
        dropped: String(dropped),
        exit_code: String(code),
      },
    });
    if (failure) this.lifecycle.transition("failed", failure.reason);
    else this.lifecycle.transition("stopped", reason);
    await this.closeOut();
    return code;
  }

  /** Flushes what can be flushed and closes the connection after a failed preflight. */
  async closeAfterFailure(): Promise<void> {
    this.heartbeater?.stop();
    await this.watcher?.stop().catch((error: unknown) => this.reportError("settings", error));
    await this.worker?.shutdown(0);
    await this.closeOut();
  }

  addIntake(stop: (graceMs: number) => Promise<void>): void {
    this.intakes.push(stop);
  }

  createMailbox<M>(o: ActorMailboxOptions<M>): Mailbox<M> {
    if (!TOKEN.test(o.name)) throw new RangeError(`mailbox name '${o.name}' must match ${TOKEN.source}`);
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
  }

  reportError(area: string, error: unknown): void {
    this.lastError = errorText(error);
    this.log.error({ area, err: error }, `${area} error`);
    this.telemetry?.event(`${this.def.name}.${area}.error`, {
      level: "ERROR",
      description: this.lastError.slice(0, 4096),
    });
  }

  /** The `status` verb's answer. */
  private status(): unknown {
    const w = this.worker?.metrics();
    return {
      instanceId: this.proc.instanceId,
      runId: this.runId,
      state: this.lifecycle.state,
      readyAtMs: this.readyAtMs ?? null,
      uptimeMs: Date.now() - this.startedAt,
      worker: w && {
        inFlight: w.inFlight,
        queueDepth: w.queueDepth,
        completed: w.completed,
        failed: w.failed,
        zombies: w.zombies,
      },
      mailboxes: [...this.mailboxes.values()].map(({ box }) => {
        const m = box.metrics();
        return { name: m.name, depth: m.depth, inFlight: m.inFlight, handled: m.handled, dropped: m.dropped };
      }),
      tasks: this.tasks.names(),
      controlRefused: this.control?.refused() ?? 0,
    };
  }

  private async closeOut(): Promise<void> {
    if (this.flushTimer !== undefined) clearInterval(this.flushTimer);
    if (this.telemetry) {
      this.recordMetrics(this.telemetry);
      await withTimeout(this.telemetry.flush(), 2_000, "final telemetry flush").catch((e: unknown) =>
        this.log.warn({ err: e }, "final telemetry flush incomplete"),
      );
    }
    this.offViolation();
    await this.conn?.close();
  }

  private recordMetrics(t: TelemetryEmitter): void {
    recordRuntimeMetrics(t, this.worker, this.mailboxes.values());
    if (this.control) t.metric(`${this.def.name}.control.refused`, this.control.refused());
    this.drops.report(t, this.mailboxes.values());
  }

  private preflightFailed(check: string, error: unknown, code: ActorExitCode): Failure {
    const reason = `check '${check}' failed: ${errorText(error)}`;
    this.log.fatal({ check, err: error }, "preflight failed");
    this.telemetry?.event(`${this.def.name}.lifecycle.preflight_failed`, {
      level: "CRITICAL",
      description: reason.slice(0, 4096),
      attributes: { check, exit_code: String(code) },
    });
    return { code, reason };
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
      this.recordMetrics(t);
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

  private buildContext(bus: BusConnection, telemetry: TelemetryEmitter, worker: TaskQueue): ActorContext {
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
      mailbox: (o) => this.createMailbox(o),
      subscribe: (key, handler, o) => subscribeIntake(this, key, handler, o),
      consume: (ref, handler, o) => consumeIntake(this, ref, handler, o),
      serve: (key, handler, o) => serveIntake(this, key, handler, o),
      runTask: (name, task) => this.tasks.run(name, task),
      finish: (reason) => this.requestEnd(`finished: ${reason}`),
      fail: (reason) => this.fail(ActorExitCode.gaveUp, reason),
      reportError: (area, error) => this.reportError(area, error),
    };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The message of an error, or the value as text. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
