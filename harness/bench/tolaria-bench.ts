import { benchLoop } from "./loop-bench.ts";
import { benchLateness } from "./tolaria-lateness.ts";
import { benchRestore, type RestoreSection } from "./tolaria-restore.ts";
import {
  type BoundarySection,
  boundarySection,
  type LatenessSection,
  TOLARIA_GOALS,
} from "./tolaria-summary.ts";

/** Options of {@link benchTolaria}. */
export interface TolariaBenchOptions {
  /** The job of the boundary run (`esper bench loop`'s machinery). */
  readonly boundaryJob: string;
  /** Fast and full restores timed each. */
  readonly restores: number;
  /** The job trained while command acks and heartbeats are timed. */
  readonly latenessJob: string;
  /** How long commands and heartbeats are timed, at most (the run may end first), in ms. */
  readonly latenessWindowMs: number;
  /** Pause between one command's ack and the next command, in ms. */
  readonly commandGapMs: number;
  /** Tolaria's heartbeat interval during the lateness run, in ms. */
  readonly heartbeatIntervalMs: number;
}

/** What `esper bench tolaria` prints. */
export interface TolariaBenchReport {
  readonly bench: "tolaria";
  readonly goals: typeof TOLARIA_GOALS;
  readonly boundary: BoundarySection;
  readonly restore: RestoreSection;
  readonly lateness: LatenessSection;
}

/** Runs the three parts one after the other (each `esper up` has its own nats-server) and reports them. */
export async function benchTolaria(opts: TolariaBenchOptions): Promise<TolariaBenchReport> {
  const boundary = boundarySection(await benchLoop(opts.boundaryJob));
  const restore = await benchRestore(opts.restores);
  const lateness = await benchLateness({
    job: opts.latenessJob,
    windowMs: opts.latenessWindowMs,
    gapMs: opts.commandGapMs,
    heartbeatIntervalMs: opts.heartbeatIntervalMs,
  });
  return tolariaReport(boundary, restore, lateness);
}

/** The report of the three sections. */
export function tolariaReport(
  boundary: BoundarySection,
  restore: RestoreSection,
  lateness: LatenessSection,
): TolariaBenchReport {
  return { bench: "tolaria", goals: TOLARIA_GOALS, boundary, restore, lateness };
}
