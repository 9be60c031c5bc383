import { ActorChild, type ActorChildSpec, type ChildEvent, type ChildStopResult } from "./child-processes.ts";
import { ActorNotReadyError } from "./errors.ts";

/**
 * Resolves when `actor` is ready (the runtime helper watches its heartbeats for state "running");
 * `signal` aborts when the wait no longer matters (the child exited or the deadline passed).
 */
export type WaitReady = (actor: string, signal: AbortSignal) => Promise<void>;

/** How `startInOrder` starts and, on failure, stops children. */
export interface StartOrderOptions {
  /** How long each actor has, from its spawn, to become ready. */
  readonly readyTimeoutMs: number;
  /** Grace between SIGTERM and SIGKILL when stopping children after a failed start. */
  readonly stopGraceMs: number;
  readonly onEvent: (event: ChildEvent) => void;
  /** Aborts the start (e.g. the supervisor drains): the waiting child counts as not ready. */
  readonly signal?: AbortSignal;
}

/** One child's stop: its name and how it ended. */
export interface ChildStopReport {
  readonly actor: string;
  readonly result: ChildStopResult;
}

/**
 * Starts the children in the order given, each once the previous one is ready. When one cannot be
 * spawned, exits before it is ready, fails its readiness check or misses the deadline, every child
 * started so far is stopped (in reverse order) and ActorNotReadyError (name, problem, stderr tail) or
 * ChildSpawnError is thrown.
 */
export async function startInOrder(
  specs: readonly ActorChildSpec[],
  waitReady: WaitReady,
  options: StartOrderOptions,
): Promise<ActorChild[]> {
  const started: ActorChild[] = [];
  for (const spec of specs) {
    let child: ActorChild;
    try {
      child = await ActorChild.spawn(spec, options.onEvent);
    } catch (error) {
      await stopInReverse(started, options.stopGraceMs);
      throw error;
    }
    started.push(child);
    const problem = await readiness(child, waitReady, options.readyTimeoutMs, options.signal);
    if (problem !== undefined) {
      await stopInReverse(started, options.stopGraceMs);
      throw new ActorNotReadyError(child.name, problem, child.stderrTail());
    }
  }
  return started;
}

/** Stops the children one after the other, last started first. */
export async function stopInReverse(
  children: readonly ActorChild[],
  graceMs: number,
): Promise<ChildStopReport[]> {
  const reports: ChildStopReport[] = [];
  for (const child of [...children].reverse()) {
    reports.push({ actor: child.name, result: await child.stop(graceMs) });
  }
  return reports;
}

/** Undefined when the child became ready in time, else what went wrong. */
async function readiness(
  child: ActorChild,
  waitReady: WaitReady,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`not ready within ${timeoutMs} ms`), timeoutMs);
    onAbort = () => resolve("the start was aborted before it was ready");
    if (signal?.aborted === true) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
  const exited = child.exited.then(
    (exit) =>
      `exited before it was ready (${exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code}`})`,
  );
  const ready = waitReady(child.name, abort.signal).then(
    () => undefined,
    (error: unknown) => `readiness check failed: ${(error as Error).message}`,
  );
  try {
    return await Promise.race([ready, exited, deadline]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
    abort.abort();
  }
}
