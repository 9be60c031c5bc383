import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { BusConnection } from "../../bus/connection.ts";
import { RetryableError } from "../../bus/jetstream/consume.ts";
import { runConsumers } from "../../bus/jetstream/declarations.ts";
import { publishToStream } from "../../bus/jetstream/publish.ts";
import { openBucket, type TypedBucket } from "../../bus/kv.ts";
import { publish, request } from "../../bus/typed.ts";
import { TelemetryLevel } from "../../contracts/enums.ts";
import type { KasminaState } from "../../contracts/messages/kasmina-state.ts";
import { JOB_ENV, selectJob } from "../../nn/presets/job-selection.ts";
import type { ActorContext, ActorDefinition, PreflightCheck } from "../runtime/actor-types.ts";
import { type SigningKey, signingKey } from "../runtime/command-verifier.ts";
import { isProcessEntry, runMain } from "../runtime/main-entry.ts";
import { signingKeyCheck } from "../runtime/preflight-checks.ts";
import type { ControllerEffect, ControllerOutput } from "./controller-effects.ts";
import type { GateId } from "./gates.ts";
import { slotSeeds } from "./job-slots.ts";
import { KasminaRun, type KasminaRunOptions, type StateConsumer } from "./kasmina-run.ts";
import { PersistedRun } from "./persisted-run.ts";
import type { SeedController, SeedView, SlotSeed } from "./seed-controller.ts";
import { globalPacket, type KasminaCounters, seedPacket } from "./seed-telemetry.ts";
import { KasminaStateConflictError, KasminaStateStore } from "./state-store.ts";

/** How a Kasmina actor finds its run's job. */
export interface KasminaOptions {
  /** Where ESPER_JOB is read (at preflight). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

const levelNames = {
  [TelemetryLevel.UNSPECIFIED]: "INFO",
  [TelemetryLevel.INFO]: "INFO",
  [TelemetryLevel.WARNING]: "WARNING",
  [TelemetryLevel.ERROR]: "ERROR",
  [TelemetryLevel.CRITICAL]: "CRITICAL",
} as const;

/** What performing effects needs besides the controller: the actor, the catalog (G0 reads descriptors) and the counters. */
interface EffectDeps {
  readonly ctx: ActorContext;
  readonly catalog: TypedBucket<"catalog">;
  readonly counters: MutableCounters;
}

interface MutableCounters {
  gateFailures: Record<GateId, number>;
  culled: number;
  lastPrefetchMs?: number | undefined;
}

/** Performs the controller's effects in order; a prefetch's answer is fed back and its effects performed in turn. */
async function perform(
  deps: EffectDeps,
  controller: SeedController,
  output: ControllerOutput,
): Promise<void> {
  for (const effect of output.effects) await performOne(deps, controller, effect);
}

async function performOne(
  deps: EffectDeps,
  controller: SeedController,
  effect: ControllerEffect,
): Promise<void> {
  const { ctx, counters } = deps;
  const run = ctx.runId;
  switch (effect.kind) {
    case "directive":
      await publishToStream(ctx.bus, "seedDirective", effect.directive, { params: { run } });
      return;
    case "event":
      if (effect.name === "kasmina.seed.gate_failure") {
        const gate = effect.attributes.gate as GateId | undefined;
        if (gate !== undefined && Object.hasOwn(counters.gateFailures, gate)) counters.gateFailures[gate]++;
      }
      if (effect.name === "kasmina.seed.culled") counters.culled++;
      ctx.telemetry.event(effect.name, {
        level: levelNames[effect.level],
        description: Object.entries(effect.attributes)
          .map(([k, v]) => `${k}=${v}`)
          .join(" "),
        attributes: { ...effect.attributes, trainingRunId: run },
      });
      return;
    case "prefetch": {
      const timeoutMs = ctx.settings().timeouts.prefetchDeadlineMs;
      let answer: ControllerOutput;
      const started = performance.now();
      try {
        const result = await request(ctx.bus, "urzaPrefetch", effect.request, {
          timeoutMs,
          signal: ctx.signal,
        });
        counters.lastPrefetchMs = performance.now() - started;
        const descriptor =
          result.status === "ready" ? (await deps.catalog.get(result.blueprintId))?.value : undefined;
        answer = controller.prefetchResult(result, descriptor);
      } catch (err) {
        counters.lastPrefetchMs = performance.now() - started;
        ctx.telemetry.event("kasmina.prefetch.failed", {
          level: "WARNING",
          description: `no kernel for seed ${effect.seedId} from Urza within ${timeoutMs} ms: ${(err as Error).message}`,
          attributes: {
            trainingRunId: run,
            seedId: effect.seedId,
            requestId: effect.request.requestId,
            blueprintId: effect.request.blueprintId,
          },
        });
        answer = controller.prefetchTimedOut(effect.request.requestId);
      }
      await perform(deps, controller, answer);
      return;
    }
  }
}

/**
 * Every `cadence.telemetryFlushIntervalMs` (read each interval), one packet per seed and one global
 * packet on `telemetry.raw.kasmina`, until the drain.
 */
async function reportSeeds(
  ctx: ActorContext,
  views: () => SeedView[],
  counters: KasminaCounters,
  signal: AbortSignal,
): Promise<void> {
  let n = 0;
  while (!signal.aborted) {
    const settings = ctx.settings();
    await sleep(settings.cadence.telemetryFlushIntervalMs, signal);
    if (signal.aborted) return;
    n++;
    const now = Date.now();
    const seen = views();
    for (const view of seen) {
      const packet = seedPacket(view, n, ctx.runId, now, settings.gates.isolationLeakMax);
      publish(ctx.bus, "telemetryRaw", packet, { params: { actor: "kasmina" } });
    }
    publish(ctx.bus, "telemetryRaw", globalPacket(seen, counters, n, ctx.runId, now), {
      params: { actor: "kasmina" },
    });
  }
}

/** Resolves after `ms` or when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** The run state loaded in preflight, for `start`. */
interface PreparedRun {
  readonly slots: readonly SlotSeed[];
  readonly store: KasminaStateStore;
  readonly stored: KasminaState | undefined;
}

/** Options of the run's state from its slots and the worker settings. */
function runOptions(ctx: ActorContext, slots: readonly SlotSeed[]): KasminaRunOptions {
  const settings = ctx.settings();
  return {
    controller: {
      trainingRunId: ctx.runId,
      slots,
      embargoMs: settings.seeds.embargoMs,
      gates: settings.gates,
      blendTemperature: settings.seeds.blendTemperature,
      clock: Date.now,
      newId: randomUUID,
    },
    ledger: { ttlMs: settings.security.nonceTtlMs, maxEntries: settings.security.nonceMaxEntries },
    appliedWindow: APPLIED_WINDOW,
  };
}

/**
 * Stream sequences remembered per consumer: twice the larger `maxAckPending` of Kasmina's consumers,
 * so a message applied but not acked when Kasmina died is recognised when it comes again.
 */
const APPLIED_WINDOW =
  2 *
  Math.max(
    runConsumers["kasmina-commands"].maxAckPending,
    runConsumers["kasmina-seed-reports"].maxAckPending,
  );

/**
 * Builds the Kasmina actor for the run `ctx.runId`. Preflight: ESPER_SIGNING_KEY is set; ESPER_JOB
 * names a known preset (unset: the default job, as for Tolaria), whose host's slots each offer the seed
 * `<slotId>-g0`; the run's KasminaState is loaded from the `kasminaState` bucket (none: a fresh run; one
 * that is invalid or does not fit the host fails preflight with the reason). Start: consumes the run's
 * `kasmina-commands` (verified: signature, nonce, freshness; a refused command is a CRITICAL
 * `kasmina.command.rejected`, counted and acked; a ROLLBACK `full` is the administrative reset) and
 * `kasmina-seed-reports`, one message at a time across both, handing them to the SeedController and
 * performing its effects in order: directives stored on `seed.<run>.directive`, prefetches asked of
 * Urza within `timeouts.prefetchDeadlineMs` (the answer or the timeout fed back), events as telemetry
 * with their level and `trainingRunId`. After each message the whole state is stored, then the message
 * is acked; a message already applied (redelivered after a crash before its ack) changes nothing.
 */
export function createKasminaActor(options: KasminaOptions): ActorDefinition {
  const layouts = new WeakMap<BusConnection, readonly SlotSeed[]>();
  const prepared = new WeakMap<BusConnection, PreparedRun>();
  const jobCheck: PreflightCheck = {
    name: "kasmina-job",
    run(ctx) {
      const { preset, defaulted } = selectJob(options.env);
      const slots = slotSeeds(preset);
      if (slots.length === 0) throw new Error(`job ${preset.name}: its host has no seed slot`);
      layouts.set(ctx.bus, slots);
      const how = defaulted ? `${JOB_ENV} not set: the default job` : `${JOB_ENV}=${preset.name}`;
      ctx.log.info({ job: preset.name, slots }, `${how} ${preset.name}`);
    },
  };
  const stateCheck: PreflightCheck = {
    name: "kasmina-state",
    async run(ctx) {
      const slots = layouts.get(ctx.bus);
      if (slots === undefined) throw new Error("kasmina-state runs after kasmina-job: no slot layout");
      const store = await KasminaStateStore.open(ctx.bus, ctx.runId);
      let stored: KasminaState | undefined;
      try {
        stored = await store.load();
        if (stored !== undefined) KasminaRun.restore(runOptions(ctx, slots), stored);
      } catch (err) {
        throw new Error(
          `kasmina state ${store.name}/${ctx.runId} cannot be resumed: ${(err as Error).message} (an administrative reset needs a running Kasmina; to start this run afresh, delete the key)`,
          { cause: err },
        );
      }
      prepared.set(ctx.bus, { slots, store, stored });
      ctx.log.info(
        { run: ctx.runId, savedAt: stored?.savedAt },
        stored === undefined ? "no stored state: a fresh run" : "resuming the stored state",
      );
    },
  };
  return {
    name: "kasmina",
    preflight: [signingKeyCheck, jobCheck, stateCheck],
    async start(ctx) {
      const ready = prepared.get(ctx.bus);
      if (ready === undefined)
        throw new Error("kasmina started without its run state: the preflight did not run");
      const key: SigningKey = signingKey(ctx.process.signingKey);
      const run = ctx.runId;
      const persisted = new PersistedRun(runOptions(ctx, ready.slots), ready.store, ready.stored, Date.now);
      let rejected = 0;
      const counters: MutableCounters = {
        gateFailures: { G0: 0, G1: 0, G2: 0, G3: 0, G4: 0, G5: 0 },
        culled: 0,
      };
      const deps: EffectDeps = { ctx, catalog: await openBucket(ctx.bus, "catalog"), counters };
      const handle = async (
        consumer: StateConsumer,
        sequence: number,
        step: (state: KasminaRun) => Promise<void>,
      ): Promise<void> => {
        try {
          await persisted.apply(step);
        } catch (err) {
          if (err instanceof KasminaStateConflictError) ctx.fail(err.message);
          throw new RetryableError(
            `${consumer} message ${sequence} not applied (state back to the last stored): ${(err as Error).message}`,
            undefined,
            { cause: err },
          );
        }
      };
      const redelivered = (consumer: StateConsumer, sequence: number, id: string) =>
        ctx.telemetry.event("kasmina.message.redelivered", {
          level: "INFO",
          description: `${consumer} message ${id} (stream sequence ${sequence}) was already applied: nothing done again`,
          attributes: { consumer, sequence: String(sequence), id, trainingRunId: run },
        });
      await ctx.consume(
        { name: "kasmina-commands", run },
        (command, delivery) =>
          handle("commands", delivery.streamSequence, async (state) => {
            const outcome = state.command(command, delivery.streamSequence, {
              key,
              nowMs: Date.now(),
              maxClockSkewMs: ctx.settings().security.maxClockSkewMs,
            });
            if (outcome.kind === "redelivered") {
              redelivered("commands", delivery.streamSequence, command.commandId);
              return;
            }
            if (outcome.kind === "refused") {
              rejected++;
              ctx.telemetry.metric("kasmina.command.rejections", rejected);
              ctx.telemetry.event("kasmina.command.rejected", {
                level: "CRITICAL",
                description: `command ${command.commandId} refused: ${outcome.reason}: ${outcome.detail}`,
                attributes: {
                  reason: outcome.reason,
                  commandId: command.commandId,
                  trainingRunId: command.trainingRunId,
                },
              });
              return;
            }
            await perform(deps, state.controller, outcome.output);
          }),
        { mailbox: "commands", mode: "ordered" },
      );
      await ctx.consume(
        { name: "kasmina-seed-reports", run },
        (report, delivery) =>
          handle("reports", delivery.streamSequence, async (state) => {
            const outcome = state.report(report, delivery.streamSequence);
            if (outcome.kind === "redelivered") {
              redelivered("reports", delivery.streamSequence, report.reportId);
              return;
            }
            await perform(deps, state.controller, outcome.output);
          }),
        { mailbox: "reports", mode: "ordered" },
      );
      ctx.runTask("seed-telemetry", (signal) =>
        reportSeeds(ctx, () => persisted.run.controller.seedViews(), counters, signal),
      );
      ctx.log.info({ run, slots: ready.slots, resumed: ready.stored !== undefined }, "kasmina running");
    },
  };
}

/** Kasmina, its run's job named by ESPER_JOB in the process environment. */
export const actor: ActorDefinition = createKasminaActor({ env: process.env });

if (isProcessEntry(import.meta.url)) await runMain(actor);
