import { removeRunConsumers } from "../../bus/jetstream/run-consumers.ts";
import type { ActorContext } from "../runtime/actor-types.ts";
import type { LogLevel } from "../runtime/logger.ts";
import {
  type ActorChild,
  type ActorChildSpec,
  actorCommand,
  type ChildCommand,
  type ChildEvent,
  type ChildExit,
} from "./child-processes.ts";
import { heartbeatReadiness } from "./heartbeat-readiness.ts";
import { RunDirectory, type RunDirectoryLocation } from "./run-directory.ts";
import { actorEvent, type RunEvent } from "./run-events.ts";
import { followRun } from "./run-follower.ts";
import { startInOrder, stopInReverse } from "./start-order.ts";
import type { RunOutcome, RunSummary } from "./summary-schema.ts";

/** The actors of an embedded run, in start order (each needs the ones before it). */
export const EMBEDDED_ACTORS = ["urza", "kasmina", "tamiyo", "tolaria"] as const;

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
  /** What runs a child; default `esper actor <name>` with the parent watch. */
  readonly childCommand?: (actor: string) => ChildCommand;
  /** Each run event, for the progress output. */
  readonly onEvent: (event: RunEvent) => void;
  /** Each output line of a child. */
  readonly onChildOutput: (event: Extract<ChildEvent, { type: "output" }>) => void;
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

interface UnaskedExit {
  readonly actor: string;
  readonly exit: ChildExit;
}

/**
 * Runs one job: claims the run directory, follows the run (recording, summary), starts the children
 * in order (each once its heartbeat says running), waits for Tolaria's end, a child's unasked exit or
 * the drain, stops the children in reverse order, removes the run's durable consumers and writes the
 * summary. A child that dies is CRITICAL `weatherlight.child.died` and fails the run naming it.
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

  let reportDeath: (exit: UnaskedExit) => void = () => {};
  const died = new Promise<UnaskedExit>((resolve) => {
    reportDeath = resolve;
  });
  const onChildEvent = (event: ChildEvent): void => {
    if (event.type === "output") {
      options.onChildOutput(event);
      return;
    }
    const runEvent = actorEvent(event, Date.now());
    if (runEvent !== undefined) options.onEvent(runEvent);
    if (event.type === "exited" && !event.requested) reportDeath({ actor: event.actor, exit: event.exit });
  };

  const settings = ctx.settings();
  const childGraceMs = settings.worker.shutdownGraceMs + CHILD_HARD_STOP_MARGIN_MS;
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
      ...(ctx.process.natsCredentials !== undefined ? { natsCredentials: ctx.process.natsCredentials } : {}),
      ...(options.fashionMnistDir !== undefined ? { fashionMnistDir: options.fashionMnistDir } : {}),
    },
  }));

  const readiness = heartbeatReadiness(ctx.bus, (actor) => childInstanceId(actor, runId));
  const announcedReadiness = async (actor: string, signal: AbortSignal): Promise<void> => {
    await readiness(actor, signal);
    options.onEvent({ kind: "actor", atMs: Date.now(), actor, state: "ready", detail: "running" });
  };
  let children: ActorChild[] = [];
  let end: { outcome: RunOutcome; reason: string };
  try {
    children = await startInOrder(specs, announcedReadiness, {
      readyTimeoutMs: settings.supervisor.readyTimeoutMs,
      stopGraceMs: childGraceMs,
      onEvent: onChildEvent,
      signal: ctx.signal,
    });
    end = await awaitEnd(ctx, died, children);
  } catch (error) {
    end = ctx.signal.aborted
      ? { outcome: "stopped", reason: "stopped before every actor was ready" }
      : { outcome: "failed", reason: (error as Error).message };
  }
  if (end.outcome === "failed") {
    ctx.telemetry.event("weatherlight.run.failed", {
      level: "CRITICAL",
      description: end.reason,
      attributes: { trainingRunId: runId },
    });
  }
  await stopInReverse(children, childGraceMs);
  await removeRunConsumers(ctx.bus, runId);
  const endedAtMs = Date.now();
  const { summary } = await follower.finish({ ...end, endedAtMs });
  options.onEvent({
    kind: "finished",
    atMs: endedAtMs,
    outcome: end.outcome,
    reason: end.reason,
    wallTimeMs: endedAtMs - startedAtMs,
  });
  return { ...end, directory: directory.paths.dir, summary };
}

/** Waits for the run's end: Tolaria exits by itself, another child dies, or the supervisor drains. */
async function awaitEnd(
  ctx: ActorContext,
  died: Promise<UnaskedExit>,
  children: readonly ActorChild[],
): Promise<{ outcome: RunOutcome; reason: string }> {
  const drained = new Promise<"drained">((resolve) => {
    if (ctx.signal.aborted) resolve("drained");
    else ctx.signal.addEventListener("abort", () => resolve("drained"), { once: true });
  });
  const first = await Promise.race([died, drained]);
  if (first === "drained") return { outcome: "stopped", reason: "stopped by request before the job ended" };
  const { actor, exit } = first;
  if (actor === RUN_OWNER && exit.code === 0) return { outcome: "completed", reason: "job complete" };
  const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  const last = children
    .find((c) => c.name === actor)
    ?.stderrTail()
    .at(-1);
  const reason = `${actor} ${how} before the job ended${last !== undefined ? `: ${last}` : ""}`;
  ctx.telemetry.event("weatherlight.child.died", {
    level: "CRITICAL",
    description: reason,
    attributes: { trainingRunId: ctx.runId, actor },
  });
  return { outcome: "failed", reason };
}

function requiredSigningKey(ctx: ActorContext): string {
  const key = ctx.process.signingKey;
  if (key === undefined)
    throw new Error("ESPER_SIGNING_KEY is not set (the preflight should have stopped the start)");
  return key;
}
