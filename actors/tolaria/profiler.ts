/**
 * Tolaria's profiler: per-phase timings of each epoch (always, for telemetry) and, when a directory is
 * given, one Chrome trace file per epoch (chrome://tracing, Perfetto).
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, rename } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

/** The phases of training Tolaria times. */
export const PHASES = [
  "data",
  "forwardBackward",
  "aggregation",
  "optimizer",
  "control",
  "checkpoint",
] as const;
export type PhaseName = (typeof PHASES)[number];

/** The telemetry metric of a phase's epoch total: `tolaria.phase.<snake_case phase>_ms`. */
export function phaseMetricName(phase: PhaseName): string {
  return `tolaria.phase.${phase.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_ms`;
}

/** Total milliseconds per phase over an epoch (every phase present, 0 when it did not run). */
export type PhaseTotals = Readonly<Record<PhaseName, number>>;

/** One timed span (performance.now() milliseconds). */
export interface PhaseSpan {
  readonly phase: PhaseName;
  readonly startMs: number;
  readonly durationMs: number;
}

/** One epoch's profile. */
export interface EpochProfile {
  readonly totals: PhaseTotals;
  readonly spans: readonly PhaseSpan[];
}

/** Spans kept per epoch for the trace; further spans still count in the totals. */
export const MAX_TRACE_SPANS = 200_000;

/** Collects phase spans until `take` hands them over and starts afresh. */
export class StepProfiler {
  private spans: PhaseSpan[] = [];
  private totals = emptyTotals();
  /** Spans counted in the totals but left out of the trace (beyond `MAX_TRACE_SPANS`). */
  droppedSpans = 0;

  /** Records a span that started at `startMs` and lasted `durationMs`. */
  record(phase: PhaseName, startMs: number, durationMs: number): void {
    this.totals[phase] += durationMs;
    if (this.spans.length < MAX_TRACE_SPANS) this.spans.push({ phase, startMs, durationMs });
    else this.droppedSpans++;
  }

  /** Records the span from `startMs` to now and returns now (the next span's start). */
  since(phase: PhaseName, startMs: number): number {
    const now = performance.now();
    this.record(phase, startMs, now - startMs);
    return now;
  }

  /** The profile so far; the profiler starts a new one. */
  take(): EpochProfile {
    const profile = { totals: this.totals, spans: this.spans };
    this.spans = [];
    this.totals = emptyTotals();
    this.droppedSpans = 0;
    return profile;
  }
}

function emptyTotals(): Record<PhaseName, number> {
  return { data: 0, forwardBackward: 0, aggregation: 0, optimizer: 0, control: 0, checkpoint: 0 };
}

/** The Chrome trace (JSON object format) of an epoch's spans: complete events in microseconds. */
export function chromeTrace(
  profile: EpochProfile,
  meta: { readonly trainingRunId: string; readonly epoch: number },
): object {
  return {
    displayTimeUnit: "ms",
    otherData: { trainingRunId: meta.trainingRunId, epoch: meta.epoch },
    traceEvents: [
      { name: "process_name", ph: "M", pid: process.pid, tid: 0, args: { name: "tolaria" } },
      ...profile.spans.map((s) => ({
        name: s.phase,
        cat: "tolaria",
        ph: "X",
        ts: Math.round(s.startMs * 1000),
        dur: Math.round(s.durationMs * 1000),
        pid: process.pid,
        tid: 0,
      })),
    ],
  };
}

/**
 * Writes the epoch's trace to `<dir>/tolaria-<run>-epoch-<epoch>-<random>.json` (the random suffix
 * keeps files of restarted or concurrent runs apart), through a temporary file, fsync and rename.
 * Returns the path.
 */
export async function writeEpochTrace(
  dir: string,
  profile: EpochProfile,
  meta: { readonly trainingRunId: string; readonly epoch: number },
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const base = `tolaria-${meta.trainingRunId}-epoch-${meta.epoch}-${randomBytes(4).toString("hex")}.json`;
  const path = join(dir, base);
  const tmp = `${path}.tmp`;
  const file = await open(tmp, "wx");
  try {
    await file.writeFile(JSON.stringify(chromeTrace(profile, meta)));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  return path;
}
