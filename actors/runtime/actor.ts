import { randomUUID } from "node:crypto";
import { errorText, Runtime, settled, TOKEN } from "./actor-runtime.ts";
import type { ActorDefinition, RunActorOptions } from "./actor-types.ts";
import { ActorExitCode } from "./exit-codes.ts";
import { Lifecycle } from "./lifecycle.ts";
import { createLogger } from "./logger.ts";
import { loadProcessSettings, type ProcessSettings, ProcessSettingsError } from "./process-settings.ts";
import { installProcessSignals } from "./process-signals.ts";

/** A started actor: its lifecycle, a way to ask it to drain, and its exit code once stopped. */
export interface ActorHandle {
  readonly lifecycle: Lifecycle;
  /** Starts a drain (as SIGTERM does); later calls are ignored. */
  drain(reason: string): void;
  /** Resolves with the exit code when the actor has stopped or failed. */
  readonly done: Promise<ActorExitCode>;
}

/** Extra time past the drain grace before the process is forced out (bus close, final flush). */
const HARD_STOP_MARGIN_MS = 3_000;

/**
 * Runs an actor: created → preflight (process settings, bus connection, for the supervisor the bus
 * resources and initial worker settings, worker settings, the actor's checks) → starting (`start()`
 * runs) → running (ready) → draining → stopped, or failed. A failed preflight publishes CRITICAL
 * `<actor>.lifecycle.preflight_failed`, writes the reason to stderr and ends with
 * ActorExitCode.preflightFailed (crashed when the bus is unreachable). SIGTERM/SIGINT, the `drain`
 * verb or `ctx.finish()` drain: the drain signal fires, the hard stop is armed (grace + 3 s), `start()`
 * is awaited if it is still running, intake stops, mailboxes, long tasks and the worker finish within
 * the grace (`worker.shutdownGraceMs`, or `supervisor.shutdownGraceMs` for the supervisor), telemetry
 * is flushed, the connection closed, and the code is 0 (4 when work was cut off). A failure (`start()`
 * or a long task threw, `ctx.fail`) publishes CRITICAL `<actor>.lifecycle.failed`, drains the same way
 * and ends `failed` with its own code (ActorExitCode).
 */
export function startActor(def: ActorDefinition, opts: RunActorOptions = {}): ActorHandle {
  if (!TOKEN.test(def.name)) throw new RangeError(`actor name '${def.name}' must match ${TOKEN.source}`);
  const lifecycle = new Lifecycle();
  let requestEnd: (reason: string) => void = () => {};
  const endRequested = new Promise<string>((resolve) => {
    requestEnd = resolve;
  });
  const done = run(def, opts, lifecycle, endRequested, requestEnd);
  return { lifecycle, drain: requestEnd, done };
}

async function run(
  def: ActorDefinition,
  opts: RunActorOptions,
  lifecycle: Lifecycle,
  /** Why the actor ends: the first request wins (a later failure still marks the end as failed). */
  endRequested: Promise<string>,
  requestEnd: (reason: string) => void,
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
    ...(opts.logDestination !== undefined ? { destination: opts.logDestination } : {}),
    ...(processSettings.logPretty !== undefined ? { pretty: processSettings.logPretty } : {}),
  });
  if (processSettings.runId === undefined)
    log.info("ESPER_RUN_ID not set: generated a run id for this standalone start");
  lifecycle.onChange((c) =>
    log.info({ from: c.from, to: c.to, reason: c.reason }, `lifecycle ${c.from} → ${c.to}`),
  );

  const rt = new Runtime(def, processSettings, runId, log, lifecycle, requestEnd);
  const signals =
    opts.handleSignals === false
      ? undefined
      : installProcessSignals(def.name, log, requestEnd, (error) =>
          rt.fail(ActorExitCode.crashed, `uncaught error: ${errorText(error)}`, error),
        );
  let endAsked = false;
  void endRequested.then(() => {
    endAsked = true;
  });
  try {
    lifecycle.transition("preflight");
    const failure = await rt.preflight(opts);
    if (failure !== undefined) {
      process.stderr.write(`${def.name}: preflight failed: ${failure.reason}\n`);
      lifecycle.transition("failed", failure.reason);
      await rt.closeAfterFailure();
      return failure.code;
    }
    if (endAsked) {
      const reason = await endRequested;
      log.info({ reason }, "drain requested during preflight: the actor is not started");
      return await rt.drain(reason, settled(Promise.resolve()));
    }
    lifecycle.transition("starting");
    rt.startServices();
    const ctx = rt.context();
    const started = settled((async () => def.start(ctx))());
    const first = await Promise.race([started, endRequested.then(() => undefined)]);
    if (first?.ok === true) {
      const confirmed = await Promise.race([settled(ctx.bus.flush()), endRequested.then(() => undefined)]);
      if (confirmed?.ok === true) rt.ready();
      else if (confirmed?.ok === false)
        rt.fail(
          ActorExitCode.crashed,
          `start failed: the server did not confirm the subscriptions: ${errorText(confirmed.error)}`,
          confirmed.error,
        );
    } else if (first?.ok === false)
      rt.fail(ActorExitCode.crashed, `start failed: ${errorText(first.error)}`, first.error);
    const reason = await endRequested;
    signals?.armHardStop(rt.graceMs() + HARD_STOP_MARGIN_MS);
    return await rt.drain(reason, started);
  } finally {
    signals?.remove();
  }
}
