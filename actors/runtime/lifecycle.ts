import type { ActorLifecycleState } from "../../contracts/messages/runtime.ts";

/** The states of an actor (the contracts' ActorLifecycleState). */
export type LifecycleState = ActorLifecycleState;

/**
 * Allowed transitions. `starting` is the phase in which the actor's `start()` runs; `running` means
 * `start()` has resolved (ready). A drain may begin in preflight or while starting; any non-terminal
 * state may fail; `stopped` and `failed` are terminal.
 *
 * | from      | to                            |
 * |-----------|-------------------------------|
 * | created   | preflight, failed             |
 * | preflight | starting, draining, failed    |
 * | starting  | running, draining, failed     |
 * | running   | draining, failed              |
 * | draining  | stopped, failed               |
 */
export const lifecycleTransitions: Readonly<Record<LifecycleState, readonly LifecycleState[]>> = {
  created: ["preflight", "failed"],
  preflight: ["starting", "draining", "failed"],
  starting: ["running", "draining", "failed"],
  running: ["draining", "failed"],
  draining: ["stopped", "failed"],
  stopped: [],
  failed: [],
};

/** One change of state, given to listeners. */
export interface LifecycleChange {
  readonly from: LifecycleState;
  readonly to: LifecycleState;
  /** Why the change happened (e.g. the failed preflight check, or the signal name). */
  readonly reason: string | undefined;
  readonly atMs: number;
}

/** Thrown for a transition not in `lifecycleTransitions`. */
export class IllegalTransitionError extends Error {
  override readonly name = "IllegalTransitionError";
  constructor(
    readonly from: LifecycleState,
    readonly to: LifecycleState,
  ) {
    super(`illegal lifecycle transition ${from} → ${to}`);
  }
}

/** The state machine created → preflight → starting → running → draining → stopped, with `failed` reachable from any non-terminal state. */
export class Lifecycle {
  private current: LifecycleState = "created";
  private enteredAt = Date.now();
  private readonly listeners = new Set<(change: LifecycleChange) => void>();
  /** The reason given with the transition to `failed`, if it happened. */
  failureReason: string | undefined;

  /** The current state. */
  get state(): LifecycleState {
    return this.current;
  }

  /** When the current state was entered (ms since the epoch). */
  get enteredAtMs(): number {
    return this.enteredAt;
  }

  /** True in `stopped` or `failed`. */
  get terminal(): boolean {
    return lifecycleTransitions[this.current].length === 0;
  }

  /** Whether `to` is reachable from the current state in one step. */
  can(to: LifecycleState): boolean {
    return lifecycleTransitions[this.current].includes(to);
  }

  /**
   * Moves to `to` or throws IllegalTransitionError. Every listener is called; if any throws, the
   * state has still changed and the errors are rethrown together afterwards.
   */
  transition(to: LifecycleState, reason?: string): void {
    const from = this.current;
    if (!this.can(to)) throw new IllegalTransitionError(from, to);
    this.current = to;
    this.enteredAt = Date.now();
    if (to === "failed") this.failureReason = reason;
    const change: LifecycleChange = { from, to, reason, atMs: this.enteredAt };
    const errors: unknown[] = [];
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1)
      throw new AggregateError(errors, `${errors.length} lifecycle listeners failed on ${from} → ${to}`);
  }

  /** Calls `listener` after every transition; returns a function that removes it. */
  onChange(listener: (change: LifecycleChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
