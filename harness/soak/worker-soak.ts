import { type LatencySummary, LatencyWindow } from "../../actors/runtime/latency-window.ts";
import { TaskQueue } from "../../actors/runtime/task-queue.ts";
import { createRng } from "../../nn/rng.ts";
import { findGc, type HeapReport, heapAfterGc, heapReport } from "./heap-probe.ts";
import { settleHooks, TimerLedger } from "./leak-probe.ts";
import { PlantedLeaks, type PlantKind } from "./plants.ts";
import { type ScenarioContext, workerScenarios } from "./worker-scenarios.ts";

/** Name of one of the six RC1 worker soak scenarios. */
export type WorkerScenarioName = keyof typeof workerScenarios;

/** Results of one scenario summed over all iterations. */
export interface ScenarioReport {
  /** Worker counters summed over iterations (they depend only on the seed). */
  readonly submitted: number;
  readonly completed: number;
  readonly failed: number;
  readonly cancelled: number;
  readonly timedOut: number;
  readonly rejected: number;
  /** Scenario-specific outcome counters (e.g. reconfigurations); they depend only on the seed. */
  readonly counters: Readonly<Record<string, number>>;
  /** Scenario-specific timing counters (e.g. lateOver5ms); they vary between runs. */
  readonly timing: Readonly<Record<string, number>>;
  /** Submission-to-settlement latency of every task (ms). */
  readonly latencyMs: LatencySummary;
  /** How late timed-out callers were rejected after their deadline (ms); only where timeouts are the point. */
  readonly timeoutLatenessMs?: LatencySummary;
  /** Tasks still queued or running (zombies included) after the scenario's queues were shut down (must be 0). */
  readonly leakedTasks: number;
  /** Ref'd timers the scenario left pending (must be 0). */
  readonly leakedTimers: number;
  /** Unref'd timers the scenario left pending (must be 0). */
  readonly leakedUnrefTimers: number;
  /** Callers not settled when the scenario ended or hit its timeout (must be 0). */
  readonly unsettledCallers: number;
  /** Iterations in which the scenario did not finish within its timeout (must be 0). */
  readonly scenarioTimeouts: number;
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
  readonly scenarioTimeoutMs: number;
  /** The leak planted on purpose, when one was. */
  readonly plant?: PlantKind;
  readonly scenarios: Readonly<Record<WorkerScenarioName, ScenarioReport>>;
  readonly leakedTasks: number;
  readonly leakedTimers: number;
  readonly leakedUnrefTimers: number;
  readonly unsettledCallers: number;
  readonly scenarioTimeouts: number;
  readonly violations: number;
  /** Measured after forced full GCs, from the end of the first iteration to the end of the last. */
  readonly heap: HeapReport;
  /** Why the run is not ok (empty when it is). */
  readonly failures: readonly string[];
  readonly ok: boolean;
  readonly durationMs: number;
}

/** Options of a soak run. */
export interface WorkerSoakOptions {
  /** Iterations of every scenario; at least 2 (heap growth is measured from the first to the last). */
  readonly iterations: number;
  readonly seed: number;
  /** Restricts the run to these scenarios (all six by default). */
  readonly only?: readonly WorkerScenarioName[];
  /** Time a scenario may take, idle wait included, before it counts as timed out; default 10 s. */
  readonly scenarioTimeoutMs?: number;
  /** Heap growth (bytes) above which the run fails; default 4 MiB. */
  readonly maxHeapGrowthBytes?: number;
  /** Plants a leak to prove the soak finds it. */
  readonly plant?: PlantKind;
}

const MAX_SAMPLES = 5;
const DEFAULT_SCENARIO_TIMEOUT_MS = 10_000;
/** Default heap growth bound: a clean run grows by a few hundred KiB at most. */
export const DEFAULT_MAX_HEAP_GROWTH_BYTES = 4 * 1024 * 1024;
/** Deadline of the task the `unsettled` plant submits; far beyond any scenario timeout. */
const UNSETTLED_TASK_TIMEOUT_MS = 600_000;

interface Accumulator {
  counts: Record<"submitted" | "completed" | "failed" | "cancelled" | "timedOut" | "rejected", number>;
  counters: Record<string, number>;
  timing: Record<string, number>;
  latency: LatencyWindow;
  lateness: LatencyWindow;
  leakedTasks: number;
  leakedTimers: number;
  leakedUnrefTimers: number;
  unsettledCallers: number;
  scenarioTimeouts: number;
  violations: number;
  samples: string[];
  durationMs: number;
}

function accumulator(): Accumulator {
  return {
    counts: { submitted: 0, completed: 0, failed: 0, cancelled: 0, timedOut: 0, rejected: 0 },
    counters: {},
    timing: {},
    latency: new LatencyWindow(65_536),
    lateness: new LatencyWindow(65_536),
    leakedTasks: 0,
    leakedTimers: 0,
    leakedUnrefTimers: 0,
    unsettledCallers: 0,
    scenarioTimeouts: 0,
    violations: 0,
    samples: [],
    durationMs: 0,
  };
}

/** Resolves after `ms`, or at once when `until` settles first; never leaves its timer behind. */
async function waitAtMost(until: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([until.then(() => true), elapsed]);
  } finally {
    clearTimeout(timer);
  }
}

interface RunEnv {
  readonly seed: number;
  readonly timeoutMs: number;
  readonly ledger: TimerLedger;
  readonly plants: PlantedLeaks;
}

/** The `unsettled` plant: a caller whose task never ends and ignores its signal, with a far deadline. */
function plantUnsettledCaller(ctx: ScenarioContext): Promise<unknown> {
  const queue = ctx.queue({ concurrency: 1, queueCapacity: 1, defaultTimeoutMs: 1_000, shutdownGraceMs: 0 });
  const caller = queue
    .submit(() => new Promise<never>(() => {}), { timeoutMs: UNSETTLED_TASK_TIMEOUT_MS, name: "planted" })
    .catch(() => undefined);
  ctx.track(caller);
  return caller;
}

async function runOnce(
  name: WorkerScenarioName,
  iteration: number,
  env: RunEnv,
  acc: Accumulator,
): Promise<void> {
  const violation = (what: string) => {
    acc.violations++;
    if (acc.samples.length < MAX_SAMPLES) acc.samples.push(`iteration ${iteration}: ${what}`);
  };
  const add =
    (into: Record<string, number>) =>
    (counter: string, by = 1) => {
      into[counter] = (into[counter] ?? 0) + by;
    };
  let unsettled = 0;
  const queues: TaskQueue[] = [];
  const ctx: ScenarioContext = {
    rng: createRng(env.seed).fork(name).fork(iteration),
    latency: acc.latency,
    lateness: acc.lateness,
    violation,
    count: add(acc.counters),
    observe: add(acc.timing),
    track: (p) => {
      unsettled++;
      void p.finally(() => unsettled--);
    },
    queue: (config) => {
      const q = new TaskQueue(config);
      queues.push(q);
      return q;
    },
  };
  const mark = env.ledger.mark();
  const t0 = performance.now();
  env.plants.leakTimer();
  const planted = env.plants.unsettled ? [plantUnsettledCaller(ctx)] : [];
  const body = Promise.all([workerScenarios[name](ctx), ...planted]).catch((error: unknown) =>
    violation(`${name}: threw ${error instanceof Error ? error.message : String(error)}`),
  );
  const finished = await waitAtMost(body, env.timeoutMs);
  if (!finished) {
    acc.scenarioTimeouts++;
    violation(`${name}: did not finish within ${env.timeoutMs} ms`);
  }
  acc.unsettledCallers += unsettled;
  const left = Math.max(0, env.timeoutMs - (performance.now() - t0));
  await waitAtMost(Promise.all(queues.map((q) => q.whenIdle())), left);
  const shutdowns = await Promise.all(queues.map((q) => q.shutdown(0)));
  await settleHooks();
  acc.durationMs += performance.now() - t0;
  for (const q of queues) {
    const m = q.metrics();
    for (const k of Object.keys(acc.counts) as (keyof Accumulator["counts"])[]) acc.counts[k] += m[k];
    const settledTotal = m.completed + m.failed + m.cancelled + m.timedOut + m.rejected;
    if (settledTotal !== m.submitted)
      violation(`${name}: ${m.submitted} submitted but ${settledTotal} settled`);
    acc.leakedTasks += m.inFlight + m.queueDepth;
  }
  for (const s of shutdowns) {
    if (s.abortedAtGrace.length > 0)
      violation(`${name}: tasks still running after idle wait: ${s.abortedAtGrace.join(", ")}`);
  }
  const timers = env.ledger.pendingSince(mark);
  acc.leakedTimers += timers.ref;
  acc.leakedUnrefTimers += timers.unref;
}

/**
 * Runs the six RC1 worker soak scenarios `iterations` times each against the real TaskQueue. Every
 * scenario has a timeout; after it, unsettled callers, leftover tasks and pending timers (ref'd and
 * unref'd) are counted. Heap growth after forced GCs beyond the bound fails the run. The outcome
 * counts depend only on the seed.
 */
export async function runWorkerSoak(opts: WorkerSoakOptions): Promise<WorkerSoakReport> {
  if (!Number.isInteger(opts.iterations) || opts.iterations < 2)
    throw new RangeError(
      `iterations must be an integer >= 2 (heap growth is measured from the first to the last), got ${opts.iterations}`,
    );
  const gc = findGc();
  if (!gc)
    throw new Error("cannot force a garbage collection to measure heap growth: run node with --expose-gc");
  const names = opts.only ?? (Object.keys(workerScenarios) as WorkerScenarioName[]);
  const accs = new Map<WorkerScenarioName, Accumulator>(names.map((n) => [n, accumulator()]));
  const env: RunEnv = {
    seed: opts.seed,
    timeoutMs: opts.scenarioTimeoutMs ?? DEFAULT_SCENARIO_TIMEOUT_MS,
    ledger: new TimerLedger().enable(),
    plants: new PlantedLeaks(opts.plant),
  };
  const t0 = performance.now();
  const heapSamples: number[] = [];
  try {
    for (let it = 0; it < opts.iterations; it++) {
      env.plants.leakHeap();
      for (const [name, acc] of accs) await runOnce(name, it, env, acc);
      heapSamples.push(heapAfterGc(gc));
    }
  } finally {
    env.ledger.disable();
    env.plants.release();
  }
  const scenarios = {} as Record<WorkerScenarioName, ScenarioReport>;
  const totals = {
    leakedTasks: 0,
    leakedTimers: 0,
    leakedUnrefTimers: 0,
    unsettledCallers: 0,
    scenarioTimeouts: 0,
    violations: 0,
  };
  for (const [name, acc] of accs) {
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += acc[k];
    const lateness = acc.lateness.summary();
    scenarios[name] = {
      ...acc.counts,
      counters: acc.counters,
      timing: acc.timing,
      latencyMs: round(acc.latency.summary()),
      ...(lateness.count > 0 ? { timeoutLatenessMs: round(lateness) } : {}),
      leakedTasks: acc.leakedTasks,
      leakedTimers: acc.leakedTimers,
      leakedUnrefTimers: acc.leakedUnrefTimers,
      unsettledCallers: acc.unsettledCallers,
      scenarioTimeouts: acc.scenarioTimeouts,
      violations: acc.violations,
      violationSamples: acc.samples,
      durationMs: Math.round(acc.durationMs),
    };
  }
  const heap = heapReport(heapSamples, opts.maxHeapGrowthBytes ?? DEFAULT_MAX_HEAP_GROWTH_BYTES);
  const failures = [
    ...Object.entries(totals)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k}: ${n}`),
    ...(heap.exceeded
      ? [`heap grew by ${heap.growthBytes} bytes, above the ${heap.limitBytes} byte bound`]
      : []),
  ];
  return {
    command: "soak worker",
    seed: opts.seed,
    iterations: opts.iterations,
    scenarioTimeoutMs: env.timeoutMs,
    ...(opts.plant !== undefined ? { plant: opts.plant } : {}),
    scenarios,
    ...totals,
    heap,
    failures,
    ok: failures.length === 0,
    durationMs: Math.round(performance.now() - t0),
  };
}

function round(s: LatencySummary): LatencySummary {
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { count: s.count, p50: r(s.p50), p95: r(s.p95), p99: r(s.p99), max: r(s.max) };
}
