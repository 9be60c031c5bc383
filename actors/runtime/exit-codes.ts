/**
 * Process exit codes of an actor, for a supervisor to act on. Permanent failures (do not restart:
 * the same start fails the same way until an operator changes something) are 2, 5 and 7; crashes
 * (restart) are 1, 4 and 6; 0 and 3 are ends that were asked for.
 *
 * | code | name            | meaning                                                         | restart? |
 * |------|-----------------|-----------------------------------------------------------------|----------|
 * | 0    | ok              | drained and stopped (signal, `drain` verb, or `ctx.finish()`)   | no (done) |
 * | 1    | crashed         | `start()` threw, or the bus could not be reached at preflight   | yes      |
 * | 2    | badConfig       | the process settings (environment) are invalid                  | no       |
 * | 3    | forced          | a second SIGTERM/SIGINT during the drain                        | no (asked) |
 * | 4    | graceExpired    | work was cut off when the drain's grace (or hard stop) ran out  | yes      |
 * | 5    | preflightFailed | a preflight check failed (settings, signing key, artifact, ...) | no       |
 * | 6    | taskFailed      | a long task (`ctx.runTask`) threw                               | yes      |
 * | 7    | gaveUp          | the actor ended itself with `ctx.fail(reason)`                  | no       |
 */
export const ActorExitCode = {
  /** Drained and stopped cleanly (after a signal, the `drain` verb or `ctx.finish()`). */
  ok: 0,
  /** The actor crashed: `start()` threw, or the bus was unreachable at preflight. Restart. */
  crashed: 1,
  /** The process settings (environment) are invalid. Permanent. */
  badConfig: 2,
  /** A second SIGTERM/SIGINT arrived during the drain. */
  forced: 3,
  /** Work was still running when the drain's grace period (or the hard stop) ran out. Restart. */
  graceExpired: 4,
  /** A preflight check failed (worker settings, signing key, an artifact, the actor's own checks). Permanent. */
  preflightFailed: 5,
  /** A long task started with `ctx.runTask` threw. Restart. */
  taskFailed: 6,
  /** The actor ended itself with `ctx.fail(reason)`. Permanent. */
  gaveUp: 7,
} as const;
/** One of the ActorExitCode values. */
export type ActorExitCode = (typeof ActorExitCode)[keyof typeof ActorExitCode];

const PERMANENT: ReadonlySet<number> = new Set([
  ActorExitCode.badConfig,
  ActorExitCode.preflightFailed,
  ActorExitCode.gaveUp,
]);

/** Whether exit `code` is a permanent failure: restarting the same actor with the same configuration would fail again. */
export function isPermanentFailure(code: number): boolean {
  return PERMANENT.has(code);
}

/** Whether exit `code` is a crash a supervisor should restart after. */
export function isCrash(code: number): boolean {
  return (
    code === ActorExitCode.crashed || code === ActorExitCode.graceExpired || code === ActorExitCode.taskFailed
  );
}
