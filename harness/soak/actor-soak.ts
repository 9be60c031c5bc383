import { randomBytes } from "node:crypto";
import { startActor } from "../../actors/runtime/actor.ts";
import { type BusAddress, connectBus } from "../../bus/connection.ts";
import { ensureBucket } from "../../bus/jetstream/ensure.ts";
import { openBucket } from "../../bus/kv.ts";
import { publish, subscribe } from "../../bus/typed.ts";
import type { WorkerSettingsInput } from "../../contracts/messages/worker-settings.ts";
import { WORKER_SETTINGS_KEY } from "../../contracts/stores.ts";
import { createRng } from "../../nn/rng.ts";
import { findGc, type HeapReport, heapAfterGc, heapReport } from "./heap-probe.ts";
import { activeHandles, handlesBeyond, settleHooks, TimerLedger } from "./leak-probe.ts";
import { PlantedLeaks, type PlantKind } from "./plants.ts";
import { SOAK_ACTOR, SOAK_LOAD_SUBJECT_ACTOR, soakActor, soakActorProbe } from "./soak-actor.ts";

/** Options of an actor soak run. */
export interface ActorSoakOptions {
  /** The nats-server (with JetStream) the actor and the driver connect to. */
  readonly address: BusAddress;
  /** Start/drain cycles; at least 2 (heap growth is measured from the first to the last). */
  readonly cycles: number;
  readonly seed: number;
  /** Time one cycle may take from start to the end of its load (the drain has its own bound); default 10 s. */
  readonly cycleTimeoutMs?: number;
  /** Heap growth (bytes) above which the run fails; default 4 MiB. */
  readonly maxHeapGrowthBytes?: number;
  /** Plants a leak in the soak actor to prove the soak finds it. */
  readonly plant?: PlantKind;
}

/** What the cycles did; these counts depend only on the seed. */
export interface ActorSoakOutcomes {
  /** Cycles that drained with exit code 0. */
  readonly cyclesDrained: number;
  readonly messagesSent: number;
  readonly messagesHandled: number;
  readonly tasksCompleted: number;
  readonly localItems: number;
  readonly settingsChanges: number;
  readonly settingsApplied: number;
  /** `soak.load.handled` metric points that reached the driver in the actor's telemetry packets. */
  readonly handledMetricPoints: number;
}

/** How the cycles went on this machine; these vary between runs. */
export interface ActorSoakTiming {
  /** Heartbeats of the soak actor seen by the driver. */
  readonly heartbeats: number;
  /** Telemetry packets of the soak actor seen by the driver. */
  readonly telemetryPackets: number;
  readonly cycleMsMax: number;
}

/** The report printed by `esper soak actor`. */
export interface ActorSoakReport {
  readonly command: "soak actor";
  readonly seed: number;
  readonly cycles: number;
  readonly cycleTimeoutMs: number;
  readonly plant?: PlantKind;
  readonly outcomes: ActorSoakOutcomes;
  readonly timing: ActorSoakTiming;
  /** Exit codes of the cycles, by code. */
  readonly exitCodes: Readonly<Record<string, number>>;
  /** Ref'd and unref'd timers a cycle left pending, summed (must be 0). */
  readonly leakedTimers: number;
  readonly leakedUnrefTimers: number;
  /** Handles (sockets, pipes, …) a cycle left open, by type, summed (must be empty). */
  readonly leakedHandles: Readonly<Record<string, number>>;
  /** Handler calls still unsettled after the actor stopped, summed (must be 0). */
  readonly unsettledHandlers: number;
  /** Cycles whose load did not finish within the cycle timeout (must be 0). */
  readonly cycleTimeouts: number;
  /** Broken expectations (must be 0); the first few in `violationSamples`. */
  readonly violations: number;
  readonly violationSamples: readonly string[];
  /** Measured after forced full GCs, from the end of the first cycle to the end of the last; absent when fewer than 2 cycles finished. */
  readonly heap?: HeapReport;
  /** Why the run is not ok (empty when it is). */
  readonly failures: readonly string[];
  readonly ok: boolean;
  readonly durationMs: number;
}

const MAX_SAMPLES = 5;
const DEFAULT_CYCLE_TIMEOUT_MS = 10_000;
/** Default heap growth bound (a clean run grows far less). */
export const DEFAULT_ACTOR_MAX_HEAP_GROWTH_BYTES = 4 * 1024 * 1024;
const SHUTDOWN_GRACE_MS = 300;
/** Time past the drain grace for the actor to stop (final flush, bus close) before the run gives up. */
const STOP_MARGIN_MS = 5_000;
/** How long closing sockets and fired timers get to disappear after a stop before what is left counts. */
const SETTLE_MS = 1_000;
const MIN_HEARTBEATS_PER_CYCLE = 2;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` every 5 ms until it holds (true) or `ms` passed (false). */
async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() >= end) return false;
    await sleep(5);
  }
  return true;
}

/**
 * Waits until `check` holds or `ms` passed, running pending destroy hooks before each check (so the
 * poll's own fired timers are not counted).
 */
async function settle(check: () => boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  for (;;) {
    await settleHooks();
    if (check() || performance.now() >= end) return;
    await sleep(5);
  }
}

/** Resolves with the value of `p`, or undefined when `ms` passes first; never leaves its timer behind. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([p, elapsed]);
  } finally {
    clearTimeout(timer);
  }
}

/** The worker settings of a cycle: fast cadences, a short grace, and seeded mailbox and cadence values. */
function cycleSettings(revision: number, rng: ReturnType<typeof createRng>): WorkerSettingsInput {
  return {
    revision,
    worker: { concurrency: 1 + rng.int(8), defaultTimeoutMs: 5_000, shutdownGraceMs: SHUTDOWN_GRACE_MS },
    mailbox: { concurrency: 1 + rng.int(8) },
    cadence: { heartbeatIntervalMs: 50 + rng.int(50), telemetryFlushIntervalMs: 10 + rng.int(40) },
  };
}

function addressEnv(address: BusAddress): Record<string, string> {
  const servers = typeof address.servers === "string" ? address.servers : address.servers.join(",");
  return {
    ESPER_NATS_URL: servers,
    ...(address.user !== undefined ? { ESPER_NATS_USER: address.user } : {}),
    ...(address.pass !== undefined ? { ESPER_NATS_PASS: address.pass } : {}),
  };
}

/**
 * Soaks the actor runtime in-process against a real nats-server: `cycles` times, starts the soak
 * actor with `startActor`, sends it a seeded number of messages (through `ctx.subscribe`, a
 * concurrent mailbox, the TaskQueue and a local mailbox), changes its worker settings live, waits
 * for its heartbeats and telemetry, drains it and checks what the cycle left behind: pending timers
 * (ref'd and unref'd), open handles, unsettled handlers, a non-zero exit code. Heap growth after
 * forced GCs beyond the bound fails the run.
 */
export async function runActorSoak(opts: ActorSoakOptions): Promise<ActorSoakReport> {
  if (!Number.isInteger(opts.cycles) || opts.cycles < 2)
    throw new RangeError(
      `cycles must be an integer >= 2 (heap growth is measured from the first to the last), got ${opts.cycles}`,
    );
  const gc = findGc();
  if (!gc)
    throw new Error("cannot force a garbage collection to measure heap growth: run node with --expose-gc");
  const cycleTimeoutMs = opts.cycleTimeoutMs ?? DEFAULT_CYCLE_TIMEOUT_MS;
  const ns = `soak${randomBytes(4).toString("hex")}`;
  const bus = await connectBus({ ...opts.address, name: "soak-driver", namespace: ns });
  const plants = new PlantedLeaks(opts.plant);
  const ledger = new TimerLedger();
  const t0 = performance.now();
  const outcomes = {
    cyclesDrained: 0,
    messagesSent: 0,
    messagesHandled: 0,
    tasksCompleted: 0,
    localItems: 0,
    settingsChanges: 0,
    settingsApplied: 0,
    handledMetricPoints: 0,
  };
  const timing = { heartbeats: 0, telemetryPackets: 0, cycleMsMax: 0 };
  const exitCodes: Record<string, number> = {};
  const leakedHandles: Record<string, number> = {};
  let leakedTimers = 0;
  let leakedUnrefTimers = 0;
  let unsettledHandlers = 0;
  let cycleTimeouts = 0;
  let violations = 0;
  const violationSamples: string[] = [];
  const heapSamples: number[] = [];
  let cycleHeartbeats = 0;
  let cycleMetricPoints = 0;
  const subs = [
    subscribe(
      bus,
      "heartbeat",
      async () => {
        timing.heartbeats++;
        cycleHeartbeats++;
      },
      { params: { actor: SOAK_ACTOR } },
    ),
    subscribe(
      bus,
      "telemetryRaw",
      async (packet) => {
        timing.telemetryPackets++;
        const points = packet.metrics.filter((m) => m.name === `${SOAK_ACTOR}.load.handled`).length;
        outcomes.handledMetricPoints += points;
        cycleMetricPoints += points;
      },
      { params: { actor: SOAK_ACTOR } },
    ),
  ];
  try {
    await ensureBucket(bus, "settings");
    const settings = await openBucket(bus, "settings");
    let revision = 0;
    await settings.put(WORKER_SETTINGS_KEY, cycleSettings(revision++, createRng(opts.seed).fork("initial")));
    await bus.nc.flush();
    ledger.enable();
    for (let cycle = 0; cycle < opts.cycles; cycle++) {
      const violation = (what: string) => {
        violations++;
        if (violationSamples.length < MAX_SAMPLES) violationSamples.push(`cycle ${cycle}: ${what}`);
      };
      const rng = createRng(opts.seed).fork("actor-soak").fork(cycle);
      const messages = 20 + rng.int(60);
      const change = cycleSettings(revision++, rng);
      const handlesBefore = activeHandles();
      const mark = ledger.mark();
      const started = performance.now();
      cycleHeartbeats = 0;
      cycleMetricPoints = 0;
      const { probe, markReady } = soakActorProbe();
      const handle = startActor(soakActor(probe, markReady, plants), {
        handleSignals: false,
        env: {
          ...addressEnv(opts.address),
          ESPER_NAMESPACE: ns,
          ESPER_INSTANCE_ID: `soak-${cycle}`,
          ESPER_RUN_ID: `soak-${ns}`,
          ESPER_LOG_LEVEL: "silent",
        },
      });
      const budget = () => Math.max(0, cycleTimeoutMs - (performance.now() - started));
      const start = await within(
        Promise.race([probe.ready.then(() => "ready" as const), handle.done.then((code) => ({ code }))]),
        budget(),
      );
      if (start === undefined) {
        cycleTimeouts++;
        violation(`the actor was not ready within ${cycleTimeoutMs} ms`);
      } else if (start !== "ready") {
        violation(`the actor stopped before it was ready (exit code ${start.code})`);
      } else {
        for (let i = 0; i < messages; i++) {
          publish(
            bus,
            "heartbeat",
            {
              actor: SOAK_LOAD_SUBJECT_ACTOR,
              instanceId: `load-${cycle}`,
              pid: process.pid,
              state: "running",
              uptimeMs: i,
              timestampMs: Date.now(),
              mailboxDepths: {},
            },
            { params: { actor: SOAK_LOAD_SUBJECT_ACTOR } },
          );
        }
        outcomes.messagesSent += messages;
        const applied = await settings.put(WORKER_SETTINGS_KEY, change);
        outcomes.settingsChanges++;
        const done = await until(
          () =>
            probe.handled === messages &&
            probe.settingsApplied.includes(applied) &&
            cycleHeartbeats >= MIN_HEARTBEATS_PER_CYCLE,
          budget(),
        );
        if (!done) {
          cycleTimeouts++;
          violation(
            `load not done within ${cycleTimeoutMs} ms: ${probe.handled}/${messages} handled, ` +
              `settings revision ${applied} ${probe.settingsApplied.includes(applied) ? "" : "not "}applied, ` +
              `${cycleHeartbeats} heartbeats`,
          );
        }
      }
      handle.drain("soak cycle done");
      const code = await within(handle.done, SHUTDOWN_GRACE_MS + STOP_MARGIN_MS);
      timing.cycleMsMax = Math.max(timing.cycleMsMax, Math.round(performance.now() - started));
      if (code === undefined) {
        violation(`the actor did not stop within ${SHUTDOWN_GRACE_MS + STOP_MARGIN_MS} ms of the drain`);
        break;
      }
      exitCodes[code] = (exitCodes[code] ?? 0) + 1;
      if (code === 0) outcomes.cyclesDrained++;
      else violation(`exit code ${code}`);
      outcomes.messagesHandled += probe.handled;
      outcomes.tasksCompleted += probe.tasksCompleted;
      outcomes.localItems += probe.localItems;
      outcomes.settingsApplied += probe.settingsApplied.length;
      if (probe.localItems !== probe.handled)
        violation(`${probe.handled} messages handled but ${probe.localItems} local items`);
      unsettledHandlers += probe.handlersInFlight;
      if (!(await until(() => cycleMetricPoints === probe.handled, SETTLE_MS)))
        violation(
          `telemetry: ${cycleMetricPoints} of ${probe.handled} handled-message metric points arrived`,
        );
      await settle(() => {
        const t = ledger.pendingSince(mark);
        return t.ref + t.unref === 0 && Object.keys(handlesBeyond(handlesBefore)).length === 0;
      }, SETTLE_MS);
      const timers = ledger.pendingSince(mark);
      leakedTimers += timers.ref;
      leakedUnrefTimers += timers.unref;
      for (const [type, n] of Object.entries(handlesBeyond(handlesBefore)))
        leakedHandles[type] = (leakedHandles[type] ?? 0) + n;
      heapSamples.push(heapAfterGc(gc));
    }
  } finally {
    ledger.disable();
    plants.release();
    await Promise.all(subs.map((s) => s.stop()));
    await bus.close();
  }
  const heap =
    heapSamples.length >= 2
      ? heapReport(heapSamples, opts.maxHeapGrowthBytes ?? DEFAULT_ACTOR_MAX_HEAP_GROWTH_BYTES)
      : undefined;
  const counts = { leakedTimers, leakedUnrefTimers, unsettledHandlers, cycleTimeouts, violations };
  const failures = [
    ...Object.entries(counts)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k}: ${n}`),
    ...Object.entries(leakedHandles).map(([type, n]) => `leaked handles ${type}: ${n}`),
    ...(heap === undefined ? [`heap growth not measured: only ${heapSamples.length} cycle(s) finished`] : []),
    ...(heap?.exceeded
      ? [`heap grew by ${heap.growthBytes} bytes, above the ${heap.limitBytes} byte bound`]
      : []),
  ];
  return {
    command: "soak actor",
    seed: opts.seed,
    cycles: opts.cycles,
    cycleTimeoutMs,
    ...(opts.plant !== undefined ? { plant: opts.plant } : {}),
    outcomes,
    timing,
    exitCodes,
    ...counts,
    leakedHandles,
    violationSamples,
    ...(heap !== undefined ? { heap } : {}),
    failures,
    ok: failures.length === 0,
    durationMs: Math.round(performance.now() - t0),
  };
}
