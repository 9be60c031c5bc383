import { ActorExitCode } from "./exit-codes.ts";
import type { Logger } from "./logger.ts";

/** The signal handling of an actor process. */
export interface ProcessSignals {
  /**
   * Arms the hard stop: if the process is still here `afterMs` from now, it exits with
   * ActorExitCode.graceExpired whatever it is doing (a drain that cannot finish, a `start()` that
   * ignores its signal). Only the first call arms it.
   */
  armHardStop(afterMs: number): void;
  /** Removes the handlers and the hard-stop timer. */
  remove(): void;
}

/**
 * SIGTERM/SIGINT: the first asks for a drain, the second exits at once with ActorExitCode.forced.
 * An uncaught exception (also an unhandled rejection: Node raises it as one by default), e.g. from a
 * loop left running outside `ctx.runTask`, is given to `onFatal`, which fails the actor and drains
 * it, instead of Node ending the process unreported.
 */
export function installProcessSignals(
  name: string,
  log: Logger,
  requestDrain: (reason: string) => void,
  onFatal: (error: unknown) => void,
): ProcessSignals {
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
  process.on("uncaughtException", onFatal);
  return {
    armHardStop(afterMs) {
      if (hardStop !== undefined) return;
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
      process.off("uncaughtException", onFatal);
    },
  };
}
