import { ActorChild, type ActorChildSpec, type ChildEvent, type ChildExit } from "./child-processes.ts";
import { type ChildFailure, describeFailure, type RestartPolicy } from "./restart-policy.ts";
import { startInOrder, type WaitReady } from "./start-order.ts";

/** A watch on one actor's heartbeats; `stop` ends it. */
export interface HeartbeatWatch {
  stop(): void;
}

/**
 * Calls `onBeat` for each heartbeat of `actor`'s child (the run's instance of it, whichever process
 * runs it now) until the watch is stopped. The bus one is `busHeartbeats` (child-supervisor-heartbeats.ts).
 */
export type HeartbeatSource = (actor: string, onBeat: () => void) => HeartbeatWatch;

/** What the supervisor did about a child. */
export type SupervisionEvent =
  /** No heartbeat for `silentForMs`: the child is stopped (SIGTERM, SIGKILL after the grace), then decided about. */
  | { readonly kind: "silent"; readonly actor: string; readonly pid: number; readonly silentForMs: number }
  /** A restart is scheduled in `delayMs`; `cause` says what failed. */
  | {
      readonly kind: "restarting";
      readonly actor: string;
      readonly cause: string;
      readonly attempt: number;
      readonly delayMs: number;
    }
  /** The respawned child (`pid`) is ready again. */
  | { readonly kind: "restarted"; readonly actor: string; readonly pid: number; readonly attempt: number }
  | { readonly kind: "gave-up"; readonly actor: string; readonly reason: string }
  | { readonly kind: "degraded"; readonly actor: string; readonly reason: string };

/** How supervision ended. */
export type SupervisionOutcome =
  /** A child's exit ended the run normally (`endsRun`), e.g. Tolaria finishing the job. */
  | { readonly kind: "owner-finished"; readonly actor: string }
  /** A child cannot be restarted (a permanent exit code, or it could not be spawned again). */
  | { readonly kind: "gave-up"; readonly actor: string; readonly reason: string }
  /** The restart intensity was exceeded. */
  | { readonly kind: "degraded"; readonly actor: string; readonly reason: string }
  /** `stop()` was called first. */
  | { readonly kind: "stopped" };

/** How a ChildSupervisor starts and keeps its children. */
export interface ChildSupervisorOptions {
  /** Readiness of a child (the run's heartbeat readiness), at the start and after each restart. */
  readonly waitReady: WaitReady;
  readonly heartbeats: HeartbeatSource;
  readonly policy: RestartPolicy;
  /** Whether this exit of `actor` is the normal end of the run (Tolaria with code 0): not restarted, outcome `owner-finished`. */
  readonly endsRun: (actor: string, exit: ChildExit) => boolean;
  /**
   * Why `actor` cannot be restarted at all (e.g. Tolaria, whose run cannot resume yet), or undefined
   * when it can; a failure of such a child gives up at once. Default: every child can be restarted.
   */
  readonly cannotRestart?: (actor: string) => string | undefined;
  /** Worker settings `supervisor.readyTimeoutMs`: how long a (re)spawned child has to become ready. */
  readonly readyTimeoutMs: number;
  /** Worker settings `timeouts.heartbeatMissedAfterMs`: silence after which a ready child is stopped and restarted. */
  readonly heartbeatMissedAfterMs: number;
  /** Grace between SIGTERM and SIGKILL when a silent or never-ready child is stopped (and at a failed start). */
  readonly stopGraceMs: number;
  /** Every event of every child, the respawned ones included. */
  readonly onChildEvent: (event: ChildEvent) => void;
  readonly onEvent: (event: SupervisionEvent) => void;
  /** Aborts the initial start (see startInOrder). */
  readonly signal?: AbortSignal;
}

/**
 * Where a supervised child is: `ready` (watched for an exit or silence), `failed` (being stopped,
 * decided about, or waiting out its backoff), `restarting` (respawned, not ready yet).
 */
export type ChildPhase = "ready" | "failed" | "restarting";

/** One supervised child now: its actor, the pid of its process (the exited one while `failed`), restarts so far. */
export interface ChildStatus {
  readonly actor: string;
  readonly phase: ChildPhase;
  readonly pid: number;
  readonly restarts: number;
}

/** One supervised child: its spec, the process running it now and its restart count. */
interface Slot {
  readonly spec: ActorChildSpec;
  child: ActorChild;
  restarts: number;
  phase: ChildPhase;
  /** Called on each heartbeat while the child is watched for silence. */
  onBeat: (() => void) | undefined;
}

/** What watching a child brought: it became ready, it failed, or supervision of it is over. */
type Seen =
  | { readonly kind: "ready" }
  | { readonly kind: "failed"; readonly failure: ChildFailure }
  | { readonly kind: "done" };

/**
 * Keeps a set of children alive (embedded mode). Starts them in order (startInOrder: a failed start
 * throws as it does), then watches each: an exit nobody asked for, or a ready child silent for
 * `heartbeatMissedAfterMs` (stopped first), is decided by the RestartPolicy: restart (respawn with the
 * same spec after the backoff, then readiness again; a respawn not ready within `readyTimeoutMs` is
 * stopped and decided about the same way), give up, or degrade. The first of `owner-finished`,
 * `gave-up`, `degraded` or `stopped` settles `outcome` and ends all supervision; the children keep
 * running: the run stops them (`stopInReverse(supervisor.children(), …)`), after `stop()`.
 */
export class ChildSupervisor {
  /** Settles once, with how supervision ended. */
  readonly outcome: Promise<SupervisionOutcome>;
  private settle: (outcome: SupervisionOutcome) => void = () => {};
  private settled = false;
  private readonly halt = new AbortController();
  private readonly slots: Slot[];
  private readonly loops: Promise<void>[];

  private constructor(
    specs: readonly ActorChildSpec[],
    children: readonly ActorChild[],
    private readonly options: ChildSupervisorOptions,
    /** Pids whose exit followed a `stop()` (the supervisor's own or the run's): not failures. */
    private readonly askedExits: Set<number>,
    /** The event handler of every child: records asked exits, then `options.onChildEvent`. */
    private readonly childEvents: (event: ChildEvent) => void,
  ) {
    this.outcome = new Promise((resolve) => {
      this.settle = resolve;
    });
    this.slots = children.map((child, i) => {
      const spec = specs[i];
      if (spec === undefined || spec.name !== child.name) throw new Error(`no spec for child ${child.name}`);
      return { spec, child, restarts: 0, phase: "ready", onBeat: undefined };
    });
    this.loops = this.slots.map((slot) => this.supervise(slot));
  }

  /** Starts the children in order, each once ready, and supervises them; throws as startInOrder does. */
  static async start(
    specs: readonly ActorChildSpec[],
    options: ChildSupervisorOptions,
  ): Promise<ChildSupervisor> {
    const asked = new Set<number>();
    const onEvent = (event: ChildEvent): void => {
      if (event.type === "exited" && event.requested) asked.add(event.pid);
      options.onChildEvent(event);
    };
    const children = await startInOrder(specs, options.waitReady, {
      readyTimeoutMs: options.readyTimeoutMs,
      stopGraceMs: options.stopGraceMs,
      onEvent,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
    return new ChildSupervisor(specs, children, options, asked, onEvent);
  }

  /** The process of each child now (a child waiting for its restart is its exited process), in start order. */
  children(): ActorChild[] {
    return this.slots.map((s) => s.child);
  }

  /** Each child's phase, pid and restarts, in start order. */
  childStatus(): ChildStatus[] {
    return this.slots.map((s) => ({
      actor: s.spec.name,
      phase: s.phase,
      pid: s.child.pid,
      restarts: s.restarts,
    }));
  }

  /** Restarts so far, per child. */
  restartCounts(): Record<string, number> {
    return Object.fromEntries(this.slots.map((s) => [s.spec.name, s.restarts]));
  }

  /**
   * Ends supervision (outcome `stopped` unless it has settled): no further restart, a pending backoff
   * or readiness wait is abandoned; resolves once no spawn is in flight, so `children()` is final.
   */
  async stop(): Promise<void> {
    this.finish({ kind: "stopped" });
    await Promise.all(this.loops);
  }

  private finish(outcome: SupervisionOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.halt.abort();
    this.settle(outcome);
  }

  private async supervise(slot: Slot): Promise<void> {
    const actor = slot.spec.name;
    const watch = this.options.heartbeats(actor, () => slot.onBeat?.());
    try {
      let ready = true;
      for (;;) {
        slot.phase = ready ? "ready" : "restarting";
        const seen = ready ? await this.untilFailure(slot) : await this.untilReady(slot);
        if (seen.kind === "done") return;
        if (seen.kind === "ready") {
          ready = true;
          this.options.onEvent({ kind: "restarted", actor, pid: slot.child.pid, attempt: slot.restarts });
          continue;
        }
        const { failure } = seen;
        slot.phase = "failed";
        if (failure.kind === "exited" && this.options.endsRun(actor, failure.exit)) {
          this.finish({ kind: "owner-finished", actor });
          return;
        }
        if (failure.kind !== "exited") {
          if (failure.kind === "silent") {
            this.options.onEvent({
              kind: "silent",
              actor,
              pid: slot.child.pid,
              silentForMs: failure.silentForMs,
            });
          }
          await slot.child.stop(this.options.stopGraceMs);
        }
        if (this.settled) return;
        const fixed = this.options.cannotRestart?.(actor);
        if (fixed !== undefined) {
          const reason = `${describeFailure(actor, failure)}: ${fixed}`;
          this.options.onEvent({ kind: "gave-up", actor, reason });
          this.finish({ kind: "gave-up", actor, reason });
          return;
        }
        const decision = this.options.policy.decide(actor, failure);
        if (decision.action === "give-up") {
          this.options.onEvent({ kind: "gave-up", actor, reason: decision.reason });
          this.finish({ kind: "gave-up", actor, reason: decision.reason });
          return;
        }
        if (decision.action === "degrade") {
          this.options.onEvent({ kind: "degraded", actor, reason: decision.reason });
          this.finish({ kind: "degraded", actor, reason: decision.reason });
          return;
        }
        slot.restarts += 1;
        this.options.onEvent({
          kind: "restarting",
          actor,
          cause: describeFailure(actor, failure),
          attempt: decision.attempt,
          delayMs: decision.delayMs,
        });
        if (!(await this.sleep(decision.delayMs))) return;
        try {
          slot.child = await ActorChild.spawn(slot.spec, this.childEvents);
        } catch (error) {
          const reason = (error as Error).message;
          this.options.onEvent({ kind: "gave-up", actor, reason });
          this.finish({ kind: "gave-up", actor, reason });
          return;
        }
        ready = false;
      }
    } finally {
      watch.stop();
    }
  }

  /** A ready child: until it exits, goes silent (each beat restarts the silence timer), or supervision ends. */
  private async untilFailure(slot: Slot): Promise<Seen> {
    const child = slot.child;
    const missedAfterMs = this.options.heartbeatMissedAfterMs;
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<Seen>((resolve) => {
      timer = setTimeout(
        () => resolve({ kind: "failed", failure: { kind: "silent", silentForMs: missedAfterMs } }),
        missedAfterMs,
      );
    });
    slot.onBeat = () => timer?.refresh();
    const halted = this.halted();
    try {
      return await Promise.race([this.exitOf(child), silent, halted.seen]);
    } finally {
      clearTimeout(timer);
      slot.onBeat = undefined;
      halted.dispose();
    }
  }

  /** A respawned child: until it is ready, exits, misses `readyTimeoutMs`, or supervision ends. */
  private async untilReady(slot: Slot): Promise<Seen> {
    const child = slot.child;
    const abort = new AbortController();
    const timeoutMs = this.options.readyTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<Seen>((resolve) => {
      timer = setTimeout(
        () =>
          resolve({
            kind: "failed",
            failure: { kind: "not-ready", problem: `not ready within ${timeoutMs} ms` },
          }),
        timeoutMs,
      );
    });
    const ready = this.options.waitReady(child.name, abort.signal).then(
      (): Seen => ({ kind: "ready" }),
      (error: unknown): Seen => ({
        kind: "failed",
        failure: { kind: "not-ready", problem: `readiness check failed: ${(error as Error).message}` },
      }),
    );
    const halted = this.halted();
    try {
      return await Promise.race([ready, this.exitOf(child), late, halted.seen]);
    } finally {
      clearTimeout(timer);
      abort.abort();
      halted.dispose();
    }
  }

  /** The child's exit: a failure, or `done` when someone asked for it. */
  private async exitOf(child: ActorChild): Promise<Seen> {
    const exit = await child.exited;
    return this.askedExits.has(child.pid)
      ? { kind: "done" }
      : { kind: "failed", failure: { kind: "exited", exit } };
  }

  /** Resolves `done` when supervision ends; `dispose` removes the listener. */
  private halted(): { readonly seen: Promise<Seen>; dispose(): void } {
    let onAbort: () => void = () => {};
    const seen = new Promise<Seen>((resolve) => {
      onAbort = () => resolve({ kind: "done" });
      if (this.halt.signal.aborted) onAbort();
      else this.halt.signal.addEventListener("abort", onAbort, { once: true });
    });
    return { seen, dispose: () => this.halt.signal.removeEventListener("abort", onAbort) };
  }

  /** Waits `ms`; false when supervision ended first. */
  private async sleep(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const elapsed = new Promise<true>((resolve) => {
      timer = setTimeout(() => resolve(true), ms);
    });
    const halted = this.halted();
    try {
      return await Promise.race([elapsed, halted.seen.then(() => false)]);
    } finally {
      clearTimeout(timer);
      halted.dispose();
    }
  }
}
