import { type DestinationStream, type Logger, pino } from "pino";
import pretty from "pino-pretty";

/** pino log levels accepted by ESPER_LOG_LEVEL. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
/** A pino log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The identity stamped on every log line, and the output choices. */
export interface LoggerOptions {
  readonly actor: string;
  readonly instanceId: string;
  readonly runId: string;
  readonly level: LogLevel;
  /** Human-readable output; defaults to whether stdout is a terminal. */
  readonly pretty?: boolean;
  /** Where lines go; defaults to stdout. */
  readonly destination?: DestinationStream;
}

/** The logger type used across the runtime. */
export type { Logger } from "pino";

/**
 * A pino logger writing JSON lines (pretty when asked or when stdout is a terminal) with `actor`,
 * `instanceId`, `runId` and `pid` on every line.
 */
export function createLogger(opts: LoggerOptions): Logger {
  const usePretty = opts.pretty ?? process.stdout.isTTY === true;
  const destination =
    opts.destination ??
    (usePretty ? pretty({ colorize: process.stdout.isTTY === true, sync: true }) : pino.destination(1));
  return pino(
    {
      level: opts.level,
      base: { actor: opts.actor, instanceId: opts.instanceId, runId: opts.runId, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
