import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BOUNDARY_METRICS } from "../../actors/tolaria/boundary-metrics.ts";
import { RunSummary } from "../../actors/weatherlight/summary-schema.ts";
import { TelemetryPacket } from "../../contracts/messages/telemetry.ts";
import { round, summarize } from "./stats.ts";

const ESPER = fileURLToPath(new URL("../../bin/esper.js", import.meta.url));

/** p50/p95 of one boundary figure over a run, in ms. */
export interface BoundaryFigure {
  readonly p50: number;
  readonly p95: number;
  readonly n: number;
}

/** What `esper bench loop` prints. */
export interface LoopBenchReport {
  readonly bench: "loop";
  readonly job: string;
  readonly runId: string;
  readonly outcome: string;
  /** `esper up` from spawn to exit, in ms (server, actors' start and stop included). */
  readonly commandWallMs: number;
  /** The run as Weatherlight saw it, from its start to the summary, in ms. */
  readonly runWallMs: number;
  readonly epochs: number;
  /** Epochs per second between the first and the last epoch's state packet. */
  readonly epochsPerSecond: number;
  readonly accuracy: { readonly first: number; readonly last: number };
  readonly parameterCount: { readonly first: number; readonly last: number } | null;
  readonly seeds: readonly { readonly seedId: string; readonly stages: readonly string[] }[];
  readonly boundary: {
    readonly stateAssemblyMs: BoundaryFigure | null;
    readonly decisionRoundTripMs: BoundaryFigure | null;
    readonly directiveApplyMs: BoundaryFigure | null;
    readonly epochBoundaryMs: BoundaryFigure | null;
  };
}

/** The report of a finished run from its summary and telemetry lines. */
export function loopReport(
  job: string,
  commandWallMs: number,
  summary: RunSummary,
  telemetry: readonly TelemetryPacket[],
): LoopBenchReport {
  const values = (name: string): number[] =>
    telemetry.flatMap((p) => p.metrics.filter((m) => m.name === name).map((m) => m.value));
  const figure = (name: string): BoundaryFigure | null => {
    const samples = values(name);
    if (samples.length === 0) return null;
    const s = summarize(samples);
    return { p50: round(s.p50, 3), p95: round(s.p95, 3), n: s.n };
  };
  const first = summary.epochs[0];
  const last = summary.epochs.at(-1);
  const spanMs = first !== undefined && last !== undefined ? last.atMs - first.atMs : 0;
  return {
    bench: "loop",
    job,
    runId: summary.runId,
    outcome: summary.outcome,
    commandWallMs: Math.round(commandWallMs),
    runWallMs: summary.wallTimeMs,
    epochs: summary.epochs.length,
    epochsPerSecond: spanMs > 0 ? round(((summary.epochs.length - 1) * 1000) / spanMs, 2) : 0,
    accuracy: { first: first?.validationAccuracy ?? 0, last: last?.validationAccuracy ?? 0 },
    parameterCount: summary.parameterCount ?? null,
    seeds: summary.seeds.map((s) => ({ seedId: s.seedId, stages: s.timeline.map((c) => c.to) })),
    boundary: {
      stateAssemblyMs: figure(BOUNDARY_METRICS.stateAssembly),
      decisionRoundTripMs: figure(BOUNDARY_METRICS.decisionRoundTrip),
      directiveApplyMs: figure(BOUNDARY_METRICS.directiveApply),
      epochBoundaryMs: figure(BOUNDARY_METRICS.epochBoundary),
    },
  };
}

/**
 * Runs `esper up --job <job>` (its own nats-server) into a temporary run directory, then reads the
 * summary and telemetry into a report. A run that does not complete is an error with its stderr tail.
 */
export async function benchLoop(job: string): Promise<LoopBenchReport> {
  const dir = await mkdtemp(join(tmpdir(), "esper-bench-loop-"));
  try {
    const runDir = join(dir, "run");
    const started = performance.now();
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [ESPER, "up", "--job", job, "--run-dir", runDir, "--json"], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let err = "";
      child.stderr.setEncoding("utf8").on("data", (c: string) => {
        err = (err + c).slice(-8_000);
      });
      child.once("close", (c) => resolve({ code: c, stderr: err }));
    });
    const wallMs = performance.now() - started;
    if (code !== 0) throw new Error(`esper up exited with code ${code}:\n${stderr}`);
    const summary = RunSummary.parse(JSON.parse(await readFile(join(runDir, "summary.json"), "utf8")));
    const lines = (await readFile(join(runDir, "telemetry.jsonl"), "utf8"))
      .split("\n")
      .filter((l) => l !== "");
    const telemetry = lines.map((l) => TelemetryPacket.parse(JSON.parse(l)));
    return loopReport(job, wallMs, summary, telemetry);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
