import { BOUNDARY_METRICS } from "../../actors/tolaria/boundary-metrics.ts";
import type { BoundaryFigure, LoopBenchReport } from "./loop-bench.ts";
import { round, summarize } from "./stats.ts";

/** The goals of issue #11 for `esper bench tolaria`, in ms. */
export const TOLARIA_GOALS = {
  /** p95 of the whole epoch boundary. */
  boundaryP95Ms: 5,
  /** p95 of a fast (in-memory ring) restore of a 1M-parameter host. */
  fastRestoreP95Ms: 5,
  /** p95 of a full (checkpoint from disk, sha256 checked) restore of a 1M-parameter host. */
  fullRestoreP95Ms: 500,
  /** Lateness of a command ack or a heartbeat past which the steps belong in a worker thread. */
  latenessThresholdMs: 100,
} as const;

/** p50/p95 (and max) of samples in ms, rounded for the JSON. */
export interface LatencyFigure {
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
  readonly n: number;
}

/** The figure of `samples`; no samples is an error naming `what`. */
export function latencyFigure(what: string, samples: readonly number[]): LatencyFigure {
  if (samples.length === 0) throw new Error(`${what}: no samples`);
  const s = summarize([...samples]);
  return { p50: round(s.p50, 3), p95: round(s.p95, 3), max: round(Math.max(...samples), 3), n: s.n };
}

/** A figure held against a goal on its p95. */
export interface GoalFigure extends LatencyFigure {
  readonly goalP95Ms: number;
  readonly met: boolean;
}

/** `figure` with its p95 goal and whether the p95 is within it. */
export function againstGoal(figure: LatencyFigure, goalP95Ms: number): GoalFigure {
  return { ...figure, goalP95Ms, met: figure.p95 <= goalP95Ms };
}

/**
 * How late each heartbeat came: the interval between consecutive sender timestamps minus the configured
 * interval (negative when early). Fewer than two timestamps is an error.
 */
export function heartbeatLateness(timestampsMs: readonly number[], intervalMs: number): number[] {
  if (timestampsMs.length < 2)
    throw new Error(`heartbeat lateness needs 2 heartbeats, got ${timestampsMs.length}`);
  const late: number[] = [];
  for (let i = 1; i < timestampsMs.length; i++)
    late.push((timestampsMs[i] as number) - (timestampsMs[i - 1] as number) - intervalMs);
  return late;
}

/** The lateness section: command acks and heartbeats held against the 100 ms threshold on their max. */
export interface LatenessSection {
  readonly job: string;
  readonly heartbeatIntervalMs: number;
  readonly thresholdMs: number;
  readonly commandAckMs: LatencyFigure;
  readonly heartbeatLateMs: LatencyFigure;
  /** Whether any command ack or heartbeat came later than the threshold. */
  readonly exceeded: boolean;
}

/** The lateness section of acks (publish → applied, ms) and heartbeat timestamps. */
export function latenessSection(
  job: string,
  ackMs: readonly number[],
  heartbeatTimestampsMs: readonly number[],
  heartbeatIntervalMs: number,
): LatenessSection {
  const commandAckMs = latencyFigure("command acks", ackMs);
  const heartbeatLateMs = latencyFigure(
    "heartbeat lateness",
    heartbeatLateness(heartbeatTimestampsMs, heartbeatIntervalMs),
  );
  const thresholdMs = TOLARIA_GOALS.latenessThresholdMs;
  return {
    job,
    heartbeatIntervalMs,
    thresholdMs,
    commandAckMs,
    heartbeatLateMs,
    exceeded: commandAckMs.max > thresholdMs || heartbeatLateMs.max > thresholdMs,
  };
}

/** The boundary section: the loop bench's split of the epoch boundary, the whole held against its goal. */
export interface BoundarySection {
  readonly job: string;
  readonly runId: string;
  readonly epochs: number;
  readonly assemblyMs: BoundaryFigure | null;
  readonly tamiyoRoundTripMs: BoundaryFigure | null;
  /** Only boundaries that had directives to apply; null when none had. */
  readonly directiveApplicationMs: BoundaryFigure | null;
  readonly wholeMs: BoundaryFigure;
  readonly goalP95Ms: number;
  readonly met: boolean;
}

/** The boundary section of a loop bench report; a run without whole-boundary figures is an error. */
export function boundarySection(loop: LoopBenchReport): BoundarySection {
  const whole = loop.boundary.epochBoundaryMs;
  if (whole === null) throw new Error(`run ${loop.runId} reported no ${BOUNDARY_METRICS.epochBoundary}`);
  return {
    job: loop.job,
    runId: loop.runId,
    epochs: loop.epochs,
    assemblyMs: loop.boundary.stateAssemblyMs,
    tamiyoRoundTripMs: loop.boundary.decisionRoundTripMs,
    directiveApplicationMs: loop.boundary.directiveApplyMs,
    wholeMs: whole,
    goalP95Ms: TOLARIA_GOALS.boundaryP95Ms,
    met: whole.p95 <= TOLARIA_GOALS.boundaryP95Ms,
  };
}
