import { join } from "node:path";
import { removeRunConsumers } from "../../bus/jetstream/run-consumers.ts";
import { openBucket } from "../../bus/kv.ts";
import type { ActorContext } from "../runtime/actor-types.ts";
import type { LogLevel } from "../runtime/logger.ts";
import { ensureActorBundle } from "./child-bundle.ts";
import { type ActorChildSpec, actorCommand, type ChildCommand, type ChildEvent } from "./child-processes.ts";
import { ChildSupervisor } from "./child-supervisor.ts";
import { busHeartbeats } from "./child-supervisor-heartbeats.ts";
import { haltRunOwner } from "./halt-owner.ts";
import { heartbeatReadiness } from "./heartbeat-readiness.ts";
import { RestartPolicy } from "./restart-policy.ts";
import { RunDirectory, type RunDirectoryLocation } from "./run-directory.ts";
import { actorEvent, type RunEvent, supervisionEvent } from "./run-events.ts";
import { followRun } from "./run-follower.ts";
import { stopInReverse } from "./start-order.ts";
import type { RunOutcome, RunSummary } from "./summary-schema.ts";

/** The actors of an embedded run, in start order (each needs the ones before it). */
export const EMBEDDED_ACTORS = ["urza", "kasmina", "tamiyo", "tolaria"] as const;

/** Tamiyo's write-ahead log directory inside the run directory. */
export const TAMIYO_WAL_SUBDIR = "tamiyo";

/** Tolaria's checkpoint directory inside the run directory (its final checkpoint when halted). */
export const TOLARIA_CHECKPOINT_SUBDIR = "tolaria";

/** The child whose own end is the end of the run. */
export const RUN_OWNER = "tolaria";

/** Extra grace per child on top of `worker.shutdownGraceMs`: its runtime's hard stop comes 3 s after it. */
const CHILD_HARD_STOP_MARGIN_MS = 5_000;

/** How Weatherlight runs one job with its own children. */
export interface EmbeddedRunOptions {
  /** The run directory: `{dir}` (`--run-dir`) or `{root}` (then `<root>/<run id>`). */
  readonly runDirectory: { readonly dir: string } | { readonly root: string };
  /** ESPER_JOB of the run's Tolaria and Kasmina. */
  readonly job: string;
  /** ESPER_FASHION_MNIST_DIR for the children, when set. */
  readonly fashionMnistDir?: string;
  /** ESPER_LOG_LEVEL of the children. */
  readonly childLogLevel: LogLevel;
  /**
   * The NATS credentials of each child (a server with per-actor users, see bus/server/permissions.ts);
   * default: Weatherlight's own, when it has any.
   */
  readonly childCredentials?: (actor: string) => { readonly user: string; readonly pass: string };
  /** What runs a child; default `esper actor <name>` with the parent watch. */
  readonly childCommand?: (actor: string) => ChildCommand;
  /** Each run event, for the progress output. */
  readonly onEvent: (event: RunEvent) => void;
  /** Each output line of a child. */
  readonly onChildOutput: (event: Extract<ChildEvent, { type: "output" }>) => void;
  /** Called once every child is ready and supervised, with the supervisor and its restart policy (the health monitor's view). */
  readonly onSupervising?: (supervisor: ChildSupervisor, policy: RestartPolicy) => void;
}

/** How an embedded run ended and where its results are. */
export interface EmbeddedRunResult {
  readonly outcome: RunOutcome;
  readonly reason: string;
  readonly directory: string;
  readonly summary: RunSummary;
}

/** The instance id of `actor` in run `runId`: how its heartbeats are told from another run's. */
export function childInstanceId(actor: string, runId: string): string {
  return `${actor}-${runId}`.slice(0, 128);
}

/**
 * Runs one job: claims the run directory, follows the run (recording, summary), starts the children
 * in order (each once its heartbeat says running) under a ChildSupervisor (a child that exits unasked
 * or falls silent is restarted with backoff; a permanent failure or the restart intensity ends the
 * run), waits for Tolaria's end, the end of supervision or the drain, stops the children in reverse
 * order, removes the run's durable consumers and Kasmina's state of the run, and writes the summary. A run that fails is CRITICAL
 * `weatherlight.run.failed` with the reason naming the child.
 */
export async function runEmbedded(
  ctx: ActorContext,
  options: EmbeddedRunOptions,
): Promise<EmbeddedRunResult> {
  const startedAtMs = Date.now();
  const runId = ctx.runId;
  const location: RunDirectoryLocation =
    "dir" in options.runDirectory ? options.runDirectory : { root: options.runDirectory.root, runId };
  const directory = await RunDirectory.create(location);
  const follower = await followRun({ bus: ctx.bus, runId, directory, startedAtMs, onEvent: options.onEvent });

  const onChildEvent = (event: ChildEvent): void => {
    if (event.type === "output") {
      options.onChildOutput(event);
      return;
    }
    const runEvent = actorEvent(event, Date.now());
    if (runEvent !== undefined) options.onEvent(runEvent);
  };

  const settings = ctx.settings();
  const childGraceMs = settings.worker.shutdownGraceMs + CHILD_HARD_STOP_MARGIN_MS;
  if (options.childCommand === undefined) await ensureActorBundle();
  const command = options.childCommand ?? actorCommand;
  const specs: ActorChildSpec[] = EMBEDDED_ACTORS.map((actor) => ({
    name: actor,
    command: command(actor),
    env: {
      namespace: ctx.process.namespace,
      instanceId: childInstanceId(actor, runId),
      natsServers: ctx.process.natsServers,
      runId,
      signingKey: requiredSigningKey(ctx),
      logLevel: options.childLogLevel,
      job: options.job,
      ...(options.childCredentials !== undefined
        ? { natsCredentials: options.childCredentials(actor) }
        : ctx.process.natsCredentials !== undefined
          ? { natsCredentials: ctx.process.natsCredentials }
          : {}),
      ...(options.fashionMnistDir !== undefined ? { fashionMnistDir: options.fashionMnistDir } : {}),
      // Tamiyo's field-report log lives with the run: it survives Tamiyo's restarts within the run.
      ...(actor === "tamiyo" ? { tamiyoWalDir: join(directory.paths.dir, TAMIYO_WAL_SUBDIR) } : {}),
      ...(actor === RUN_OWNER
        ? { tolariaCheckpointDir: join(directory.paths.dir, TOLARIA_CHECKPOINT_SUBDIR) }
        : {}),
    },
  }));
  const instanceOf = (actor: string): string => childInstanceId(actor, runId);
  const readiness = heartbeatReadiness(ctx.bus, instanceOf);
  const announcedReadiness = async (actor: string, signal: AbortSignal): Promise<void> => {
    await readiness(actor, signal);
    options.onEvent({ kind: "actor", atMs: Date.now(), actor, state: "ready", detail: "running" });
  };

  let supervisor: ChildSupervisor | undefined;
  let end: RunEnd;
  try {
    const policy = new RestartPolicy(() => ctx.settings().supervisor, Date.now, Math.random);
    supervisor = await ChildSupervisor.start(specs, {
      waitReady: announcedReadiness,
      heartbeats: busHeartbeats(ctx.bus, instanceOf),
      policy,
      endsRun: (actor, exit) => actor === RUN_OWNER && exit.code === 0,
      cannotRestart: (actor) =>
        actor === RUN_OWNER
          ? "a restarted Tolaria cannot resume the run yet (no checkpoint restore)"
          : undefined,
      readyTimeoutMs: settings.supervisor.readyTimeoutMs,
      heartbeatMissedAfterMs: settings.timeouts.heartbeatMissedAfterMs,
      stopGraceMs: childGraceMs,
      onChildEvent,
      onEvent: (event) => options.onEvent(supervisionEvent(event, Date.now())),
      signal: ctx.signal,
    });
    options.onSupervising?.(supervisor, policy);
    end = await awaitEnd(ctx, supervisor);
    if (end.halt) end = { ...end, reason: await halt(ctx, supervisor, end.reason, childGraceMs) };
  } catch (error) {
    end = ctx.signal.aborted
      ? { outcome: "stopped", reason: "stopped before every actor was ready", halt: false }
      : { outcome: "failed", reason: (error as Error).message, halt: false };
  }
  if (end.outcome === "failed") {
    ctx.telemetry.event("weatherlight.run.failed", {
      level: "CRITICAL",
      description: end.reason,
      attributes: { trainingRunId: runId },
    });
  }
  await supervisor?.stop();
  await stopInReverse(supervisor?.children() ?? [], childGraceMs);
  await removeRunConsumers(ctx.bus, runId);
  await (await openBucket(ctx.bus, "kasminaState")).delete(runId);
  const endedAtMs = Date.now();
  const { summary } = await follower.finish({ outcome: end.outcome, reason: end.reason, endedAtMs });
  options.onEvent({
    kind: "finished",
    atMs: endedAtMs,
    outcome: end.outcome,
    reason: end.reason,
    wallTimeMs: endedAtMs - startedAtMs,
  });
  return { outcome: end.outcome, reason: end.reason, directory: directory.paths.dir, summary };
}

/** How the run ended; `halt`: the restart intensity was exceeded, so Tolaria is halted before the rest stops. */
interface RunEnd {
  readonly outcome: RunOutcome;
  readonly reason: string;
  readonly halt: boolean;
}

/**
 * Halts Tolaria after the restart intensity was exceeded (a signed HALT command: it writes a final
 * checkpoint and stops) and waits for it, at most `graceMs`; returns the run's reason with what the
 * halt did. CRITICAL `weatherlight.system.halted` says it.
 */
async function halt(
  ctx: ActorContext,
  supervisor: ChildSupervisor,
  reason: string,
  graceMs: number,
): Promise<string> {
  const owner = supervisor.children().find((c) => c.name === RUN_OWNER);
  if (owner === undefined) throw new Error(`no ${RUN_OWNER} child to halt`);
  let done: string;
  let commandId = "";
  try {
    const result = await haltRunOwner({
      bus: ctx.bus,
      runId: ctx.runId,
      signingKey: requiredSigningKey(ctx),
      owner,
      reason,
      graceMs,
    });
    commandId = result.commandId;
    done =
      result.exit === undefined
        ? `${RUN_OWNER} did not exit within ${graceMs} ms of HALT command ${commandId} and is stopped`
        : `${RUN_OWNER} exited after HALT command ${commandId} (exit code ${result.exit.code ?? result.exit.signal})`;
  } catch (error) {
    done = `the HALT command for ${RUN_OWNER} could not be stored (${(error as Error).message}); it is stopped`;
  }
  ctx.telemetry.event("weatherlight.system.halted", {
    level: "CRITICAL",
    description: `${reason}; ${done}`,
    attributes: { trainingRunId: ctx.runId, commandId },
  });
  return `${reason}; ${done}`;
}

/** Waits for the run's end: Tolaria finishes, supervision gives up or degrades, or the supervisor drains. */
async function awaitEnd(ctx: ActorContext, supervisor: ChildSupervisor): Promise<RunEnd> {
  const drained = new Promise<"drained">((resolve) => {
    if (ctx.signal.aborted) resolve("drained");
    else ctx.signal.addEventListener("abort", () => resolve("drained"), { once: true });
  });
  const first = await Promise.race([supervisor.outcome, drained]);
  if (first === "drained")
    return { outcome: "stopped", reason: "stopped by request before the job ended", halt: false };
  switch (first.kind) {
    case "owner-finished":
      return { outcome: "completed", reason: "job complete", halt: false };
    case "gave-up":
      return { outcome: "failed", reason: first.reason, halt: false };
    case "degraded":
      return { outcome: "failed", reason: `degraded: ${first.reason}`, halt: true };
    case "stopped":
      return { outcome: "stopped", reason: "supervision stopped before the job ended", halt: false };
  }
}

function requiredSigningKey(ctx: ActorContext): string {
  const key = ctx.process.signingKey;
  if (key === undefined)
    throw new Error("ESPER_SIGNING_KEY is not set (the preflight should have stopped the start)");
  return key;
}
