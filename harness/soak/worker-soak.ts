import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type LatencySummary, LatencyWindow } from "../../actors/runtime/latency-window.ts";
import { createRng } from "../../nn/rng.ts";
import { type ScenarioContext, workerScenarios } from "./worker-scenarios.ts";

/** Name of one of the six RC1 worker soak scenarios. */
export type WorkerScenarioName = keyof typeof workerScenarios;

/** Results of one scenario summed over all iterations. */
export interface ScenarioReport {
  /** Worker counters summed over iterations. */
  readonly submitted: number;
  readonly completed: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly timedOut: number;
  readonly rejected: number;
  /** Scenario-specific counters (e.g. reconfigurations, lateOver5ms). */
  readonly counters: Readonly<Record<string, number>>;
  /** Submission-to-settlement latency of every task (ms). */
  readonly latencyMs: LatencySummary;
  /** How late timed-out callers were rejected after their deadline (ms); only where timeouts are the point. */
  readonly timeoutLatenessMs?: LatencySummary;
  /** Tasks still queued or running (zombies included) or callers never settled after the scenario (must be 0). */
  readonly leakedTasks: number;
  /** Timers left pending by the scenario (must be 0). */
  readonly leakedTimers: number;
  /** Broken expectations (must be 0); the first few are listed in `violationSamples`. */
  readonly violations: number;
  readonly violationSamples: readonly string[];
  readonly durationMs: number;
}

/** The report printed by `esper soak worker`. */
export interface WorkerSoakReport {
  readonly command: "soak worker";
  readonly seed: number;
  readonly iterations: number;
  readonly scenarios: Readonly<Record<WorkerScenarioName, ScenarioReport>>;
  readonly leakedTasks: number;
  readonly leakedTimers: number;
  readonly violations: number;
  readonly heap: {
    /** `forced`: measured after a full GC; `unavailable`: no GC could be forced, figures are noisy. */
    readonly gc: "forced" | "unavailable";
    /** heapUsed after the first iteration (warm-up) and after the last, in bytes. */
    readonly afterFirstBytes: number;
    readonly afterLastBytes: number;
    readonly growthBytes: number;
    readonly growthPerIterationBytes: number;
  };
  readonly ok: boolean;
  readonly durationMs: number;
}

/** Options of a soak run. */
export interface WorkerSoakOptions {
  readonly iterations: number;
  readonly seed: number;
  /** Restricts the run to these scenarios (all six by default). */
  readonly only?: readonly WorkerScenarioName[];
}

const MAX_SAMPLES = 5;
/** How long a scenario's worker may take to become idle before what is left counts as leaked. */
const IDLE_WAIT_MS = 5_000;

/** Obtains a GC function: the global one under --expose-gc, else one enabled at runtime through V8 flags. */
function findGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === "function") return existing;
  try {
    setFlagsFromString("--expose-gc");
    const fn: unknown = runInNewContext("gc");
    return typeof fn === "function" ? (fn as () => void) : undefined;
  } catch {
    return undefined;
  }
}

function pendingTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
}

interface Accumulator {
  counts: Record<"submitted" | "completed" | "failed" | "cancelled" | "timedOut" | "rejected", number>;
  counters: Record<string, number>;
  latency: LatencyWindow;
  lateness: LatencyWindow;
  leakedTasks: number;
  leakedTimers: number;
  violations: number;
  samples: string[];
  durationMs: number;
}

function accumulator(): Accumulator {
  return {
    counts: { submitted: 0, completed: 0, failed: 0, cancelled: 0, timedOut: 0, rejected: 0 },
    counters: {},
    latency: new LatencyWindow(65_536),
    lateness: new LatencyWindow(65_536),
    leakedTasks: 0,
    leakedTimers: 0,
    violations: 0,
    samples: [],
    durationMs: 0,
  };
}

async function runOnce(
  name: WorkerScenarioName,
  seed: number,
  iteration: number,
  acc: Accumulator,
): Promise<void> {
  const violation = (what: string) => {
    acc.violations++;
    if (acc.samples.length < MAX_SAMPLES) acc.samples.push(`iteration ${iteration}: ${what}`);
  };
  let unsettled = 0;
  const ctx: ScenarioContext = {
    rng: createRng(seed).fork(name).fork(iteration),
    latency: acc.latency,
    lateness: acc.lateness,
    violation,
    count: (counter, by = 1) => {
      acc.counters[counter] = (acc.counters[counter] ?? 0) + by;
    },
    track: (p) => {
      unsettled++;
      void p.finally(() => unsettled--);
    },
  };
  const timersBefore = pendingTimers();
  const t0 = performance.now();
  const worker = await workerScenarios[name](ctx);
  let idleTimer: NodeJS.Timeout | undefined;
  await Promise.race([
    worker.whenIdle(),
    new Promise((r) => {
      idleTimer = setTimeout(r, IDLE_WAIT_MS);
    }),
  ]);
  clearTimeout(idleTimer);
  const shutdown = await worker.shutdown(0);
  await new Promise((r) => setImmediate(r));
  acc.durationMs += performance.now() - t0;
  const m = worker.metrics();
  for (const k of Object.keys(acc.counts) as (keyof Accumulator["counts"])[]) acc.counts[k] += m[k];
  const settledTotal = m.completed + m.failed + m.cancelled + m.timedOut + m.rejected;
  if (settledTotal !== m.submitted)
    violation(`${name}: ${m.submitted} submitted but ${settledTotal} settled`);
  if (shutdown.abortedAtGrace.length > 0)
    violation(`${name}: tasks still running after idle wait: ${shutdown.abortedAtGrace.join(", ")}`);
  acc.leakedTasks += m.inFlight + m.queueDepth + unsettled;
  acc.leakedTimers += Math.max(0, pendingTimers() - timersBefore);
}

/** Runs the six RC1 worker soak scenarios `iterations` times each against the real TaskQueue. */
export async function runWorkerSoak(opts: WorkerSoakOptions): Promise<WorkerSoakReport> {
  const names = opts.only ?? (Object.keys(workerScenarios) as WorkerScenarioName[]);
  const gc = findGc();
  const accs = new Map<WorkerScenarioName, Accumulator>(names.map((n) => [n, accumulator()]));
  const heapNow = () => {
    gc?.();
    return process.memoryUsage().heapUsed;
  };
  const t0 = performance.now();
  let afterFirst = 0;
  let afterLast = 0;
  for (let it = 0; it < opts.iterations; it++) {
    for (const [name, acc] of accs) await runOnce(name, opts.seed, it, acc);
    afterLast = heapNow();
    if (it === 0) afterFirst = afterLast;
  }
  const scenarios = {} as Record<WorkerScenarioName, ScenarioReport>;
  let leakedTasks = 0;
  let leakedTimers = 0;
  let violations = 0;
  for (const [name, acc] of accs) {
    leakedTasks += acc.leakedTasks;
    leakedTimers += acc.leakedTimers;
    violations += acc.violations;
    const lateness = acc.lateness.summary();
    scenarios[name] = {
      ...acc.counts,
      counters: acc.counters,
      latencyMs: round(acc.latency.summary()),
      ...(lateness.count > 0 ? { timeoutLatenessMs: round(lateness) } : {}),
      leakedTasks: acc.leakedTasks,
      leakedTimers: acc.leakedTimers,
      violations: acc.violations,
      violationSamples: acc.samples,
      durationMs: Math.round(acc.durationMs),
    };
  }
  const growth = afterLast - afterFirst;
  return {
    command: "soak worker",
    seed: opts.seed,
    iterations: opts.iterations,
    scenarios,
    leakedTasks,
    leakedTimers,
    violations,
    heap: {
      gc: gc ? "forced" : "unavailable",
      afterFirstBytes: afterFirst,
      afterLastBytes: afterLast,
      growthBytes: growth,
      growthPerIterationBytes: opts.iterations > 1 ? Math.round(growth / (opts.iterations - 1)) : 0,
    },
    ok: leakedTasks === 0 && leakedTimers === 0 && violations === 0,
    durationMs: Math.round(performance.now() - t0),
  };
}

function round(s: LatencySummary): LatencySummary {
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { count: s.count, p50: r(s.p50), p95: r(s.p95), p99: r(s.p99), max: r(s.max) };
}
