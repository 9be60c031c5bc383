import { performance } from "node:perf_hooks";
import { CircuitBreakerState, EmergencyLevel } from "../../contracts/enums.ts";
import type { ActorContext } from "../runtime/actor-types.ts";
import { CorruptCheckpointError } from "./checkpoints.ts";
import type { CircuitBreaker } from "./circuit-breaker.ts";
import type { EmergencyLevels, EmergencyTrigger } from "./emergency-levels.ts";
import { publishEmergency } from "./emergency-signal.ts";
import type { EpochVerdict } from "./epoch-verdict.ts";
import type { HaltOrder } from "./halt.ts";
import {
  RollbackDeadlineError,
  type RollbackOutcome,
  type RollbackRequest,
  type RollbackTiers,
  RollbackUnavailableError,
} from "./rollback-tiers.ts";
import type { RunControlState } from "./state-packet.ts";
import type { Trainer } from "./trainer.ts";

/** What a rollback came to: restored, not possible (reason and detail), or a missed deadline that halts the run. */
export type RollbackResult =
  | { readonly kind: "restored"; readonly outcome: RollbackOutcome }
  | { readonly kind: "unavailable"; readonly reason: string; readonly detail: string }
  | { readonly kind: "halt"; readonly order: HaltOrder; readonly detail: string };

const breakerName = (s: CircuitBreakerState): string =>
  Object.entries(CircuitBreakerState).find(([, code]) => code === s)?.[0] ?? String(s);
const levelName = (l: EmergencyLevel): string =>
  Object.entries(EmergencyLevel).find(([, code]) => code === l)?.[0] ?? String(l);

/**
 * The run's safety around one trainer, with its telemetry: the emergency levels (each automatic raise
 * below HALT an EmergencySignal on `emergency.{run}` and a WARNING `tolaria.emergency.escalated`; a
 * raise to HALT becomes a HaltOrder the loop returns), the circuit breaker over Tamiyo's decisions
 * (opening it enters conservative mode and raises to CONSERVATIVE; closing it clears conservative
 * mode), and the rollback tiers (boundary snapshots, restores with their deadlines).
 */
export class RunSafety {
  private failedEpochs = 0;
  private rollbacks = 0;
  private deadlineMisses = 0;
  private skipped = 0;
  private lastState: CircuitBreakerState = CircuitBreakerState.CLOSED;

  constructor(
    private readonly ctx: ActorContext,
    private readonly trainer: Trainer,
    readonly levels: EmergencyLevels,
    readonly breaker: CircuitBreaker,
    readonly tiers: RollbackTiers,
  ) {}

  /** Conservative mode: the breaker is OPEN at `nowMs` (Tamiyo is skipped). */
  conservative(nowMs: number): boolean {
    return this.breaker.state(nowMs) === CircuitBreakerState.OPEN;
  }

  /**
   * The level, breaker state and mode at an epoch boundary (`nowMs`), for the state packet; a breaker
   * change since the last look (an OPEN breaker's timeout passed) is reported.
   */
  atBoundary(nowMs: number): RunControlState {
    this.noteBreaker(nowMs, "its open timeout passed");
    return {
      conservativeMode: this.conservative(nowMs),
      emergencyLevel: this.levels.level,
      breakerState: this.breaker.state(nowMs),
    };
  }

  /**
   * Applies an automatic trigger: a raise below HALT is published (EmergencySignal, mode automatic) and
   * reported; a raise to HALT is returned as the HaltOrder (its signal is stored by `haltRun`).
   */
  async raise(
    trigger: EmergencyTrigger,
    attributes: Readonly<Record<string, string>>,
  ): Promise<HaltOrder | undefined> {
    const change = this.levels.raise(trigger);
    if (change === undefined) return undefined;
    const attrs = { ...attributes, from: levelName(change.from), to: levelName(change.to) };
    this.ctx.telemetry.event("tolaria.emergency.escalated", {
      level: change.to === EmergencyLevel.HALT ? "CRITICAL" : "WARNING",
      description: `emergency level ${levelName(change.from)} → ${levelName(change.to)}: ${change.reason}`,
      attributes: { ...attrs, trainingRunId: this.ctx.runId },
    });
    this.ctx.telemetry.metric("tolaria.emergency.level", change.to, {
      attributes: { trainingRunId: this.ctx.runId },
    });
    if (change.to === EmergencyLevel.HALT)
      return { kind: "automatic", reason: change.reason, attributes: attrs };
    await publishEmergency(this.ctx, change.to, change.reason, { ...attrs, mode: "automatic" });
    return undefined;
  }

  /** A successful epoch ends the failed-epoch streak (the level stays). */
  epochSucceeded(): void {
    this.levels.epochSucceeded();
  }

  /**
   * A failed epoch: reported (WARNING `tolaria.epoch.failed`, counted in `tolaria.epochs.failed`), rolled
   * back to the newest ring snapshot (the full tier when the ring holds none) and trained again on a
   * fresh data order (`Trainer.reshuffle`: the restored state would replay the same spike otherwise),
   * then the level raised (ELEVATED; CONSERVATIVE with the breaker open; HALT after the streak). A
   * rollback past its deadline halts at once.
   */
  async failedEpoch(
    epoch: number,
    verdict: Extract<EpochVerdict, { failed: true }>,
  ): Promise<HaltOrder | undefined> {
    this.failedEpochs++;
    const attributes = { trainingRunId: this.ctx.runId, epoch: String(epoch), reason: verdict.reason };
    this.ctx.telemetry.metric("tolaria.epochs.failed", this.failedEpochs, {
      attributes: { trainingRunId: this.ctx.runId },
    });
    this.ctx.telemetry.event("tolaria.epoch.failed", {
      level: "WARNING",
      description: `epoch ${epoch} failed: ${verdict.reason}: ${verdict.detail}; rolled back, trained again on a fresh data order`,
      attributes: { ...attributes, detail: verdict.detail },
    });
    const tier = this.tiers.ring.size > 0 ? "fast" : "full";
    const result = await this.rollback({ tier }, verdict.reason, { epoch: String(epoch) });
    if (result.kind === "halt") return result.order;
    if (result.kind === "restored") this.trainer.reshuffle();
    const breakerOpen = this.conservative(Date.now());
    return await this.raise({ kind: "failedEpoch", breakerOpen, reason: verdict.reason }, attributes);
  }

  /**
   * Restores the trainer as `request` says (cause: what asked for it) and reports it: WARNING `tolaria.rollback.restored`
   * (tier, steps, restore time, seeds removed/restored, digests, learning rate after),
   * a WARNING `tolaria.rollback.seeds_changed` when the seed set differs (Kasmina is not told), metrics
   * `tolaria.rollback.total` and `tolaria.rollback.restore_ms`. Nothing to restore: `unavailable`
   * (CRITICAL `tolaria.rollback.failed`). A missed deadline: CRITICAL `tolaria.rollback.deadline_exceeded`,
   * counted, and the rollback-deadline trigger's HALT.
   */
  async rollback(
    request: RollbackRequest,
    cause: string,
    extra: Readonly<Record<string, string>>,
  ): Promise<RollbackResult> {
    const run = this.ctx.runId;
    const fromStep = this.trainer.globalStep;
    const { fastDeadlineMs, fullDeadlineMs } = this.ctx.settings().tolaria.rollback;
    const base = { ...extra, trainingRunId: run, tier: request.tier, cause, fromStep: String(fromStep) };
    const started = performance.now();
    try {
      const outcome = await this.tiers.restore(this.trainer, request, { fastDeadlineMs, fullDeadlineMs });
      this.trainer.profiler.record("checkpoint", started, performance.now() - started);
      this.rollbacks++;
      this.report(outcome, base);
      return { kind: "restored", outcome };
    } catch (err) {
      if (err instanceof RollbackDeadlineError) {
        this.deadlineMisses++;
        const detail = err.message;
        this.ctx.telemetry.metric("tolaria.rollback.deadline_exceeded", this.deadlineMisses, {
          attributes: { trainingRunId: run },
        });
        this.ctx.telemetry.event("tolaria.rollback.deadline_exceeded", {
          level: "CRITICAL",
          description: `rollback (${cause}) missed its deadline: ${detail}`,
          attributes: {
            ...base,
            deadlineMs: String(err.deadlineMs),
            elapsedMs: err.elapsedMs.toFixed(3),
            applied: String(err.applied),
          },
        });
        const order = await this.raise({ kind: "rollbackDeadline", detail }, base);
        if (order === undefined) throw new Error(`a rollback deadline did not halt the run: ${detail}`);
        return { kind: "halt", order, detail };
      }
      if (err instanceof RollbackUnavailableError || err instanceof CorruptCheckpointError) {
        const reason = err instanceof CorruptCheckpointError ? "checkpoint_corrupt" : "rollback_unavailable";
        this.ctx.telemetry.event("tolaria.rollback.failed", {
          level: "CRITICAL",
          description: `rollback (${cause}) not possible: ${err.message}`,
          attributes: { ...base, reason, detail: err.message },
        });
        return { kind: "unavailable", reason, detail: err.message };
      }
      throw err;
    }
  }

  /**
   * A Tamiyo round trip's outcome: a failure (timeout, error) counts toward the breaker (opening it
   * enters conservative mode and raises the level to CONSERVATIVE); a decision is a success (a
   * HALF_OPEN breaker closes after enough of them).
   */
  async decision(ok: boolean, epoch: number): Promise<HaltOrder | undefined> {
    const now = Date.now();
    const attributes = { trainingRunId: this.ctx.runId, epoch: String(epoch) };
    if (ok) {
      this.breaker.success(now);
      this.noteBreaker(now, "a decision from Tamiyo");
      return undefined;
    }
    const opened = this.breaker.failure(now);
    this.noteBreaker(now, "decision failures");
    if (!opened) return undefined;
    return await this.raise(
      { kind: "breakerOpen", detail: `Tamiyo's decisions failed (epoch ${epoch})` },
      attributes,
    );
  }

  /** Conservative mode skipped Tamiyo for `epoch`: WARNING `tolaria.decision.skipped`, counted. */
  skipDecision(epoch: number, packetId: string): void {
    this.skipped++;
    const attributes = { trainingRunId: this.ctx.runId, epoch: String(epoch), packetId };
    this.ctx.telemetry.metric("tolaria.decision.skipped", this.skipped, {
      attributes: { trainingRunId: this.ctx.runId },
    });
    this.ctx.telemetry.event("tolaria.decision.skipped", {
      level: "WARNING",
      description: `conservative mode (breaker open): Tamiyo not asked for epoch ${epoch}; no command`,
      attributes,
    });
  }

  /** A CIRCUIT_BREAKER command: the breaker forced to `state`; returns the detail. */
  setBreaker(state: CircuitBreakerState): string {
    const now = Date.now();
    const from = this.breaker.state(now);
    this.breaker.force(state, now);
    this.noteBreaker(now, "a CIRCUIT_BREAKER command");
    return `breaker ${breakerName(from)} → ${breakerName(state)}`;
  }

  /**
   * Keeps the trainer's state at this boundary in the ring, and with `durable` as a checkpoint; timed as
   * the profiler's `checkpoint` phase; gauges `tolaria.rollback.ring_bytes`, `.ring_evictions`.
   */
  async keep(durable: boolean): Promise<void> {
    const started = performance.now();
    await this.tiers.keep(this.trainer.snapshot(), durable, Date.now());
    this.trainer.profiler.record("checkpoint", started, performance.now() - started);
    const attributes = { trainingRunId: this.ctx.runId };
    this.ctx.telemetry.metric("tolaria.rollback.ring_bytes", this.tiers.ring.bytes, { attributes });
    this.ctx.telemetry.metric("tolaria.rollback.ring_evictions", this.tiers.ring.evictions, { attributes });
  }

  private report(o: RollbackOutcome, base: Readonly<Record<string, string>>): void {
    const run = this.ctx.runId;
    const attributes = {
      ...base,
      toStep: String(o.step),
      toEpoch: String(o.epoch),
      restoreMs: o.restoreMs.toFixed(3),
      seedsRemoved: o.seedsRemoved.join(","),
      seedsRestored: o.seedsRestored.join(","),
      discardedSha256: o.discardedSha256,
      snapshotSha256: o.snapshotSha256,
      restoredSha256: o.restoredSha256,
      learningRate: String(this.trainer.learningRate),
      ...(o.checkpoint === undefined ? {} : { checkpoint: o.checkpoint.file }),
    };
    this.ctx.telemetry.metric("tolaria.rollback.total", this.rollbacks, {
      attributes: { trainingRunId: run, tier: o.tier },
    });
    this.ctx.telemetry.metric("tolaria.rollback.restore_ms", o.restoreMs, {
      unit: "ms",
      attributes: { trainingRunId: run, tier: o.tier },
    });
    this.ctx.telemetry.event("tolaria.rollback.restored", {
      level: "WARNING",
      description: `${o.tier} rollback (${base.cause}) from step ${base.fromStep} to step ${o.step} (start of epoch ${o.epoch}) in ${o.restoreMs.toFixed(3)} ms`,
      attributes,
    });
    if (o.seedsRemoved.length + o.seedsRestored.length > 0)
      this.ctx.telemetry.event("tolaria.rollback.seeds_changed", {
        level: "WARNING",
        description: `the rollback changed the seed set: removed [${o.seedsRemoved.join(", ")}], restored [${o.seedsRestored.join(", ")}]; Kasmina was not told and may track these seeds differently`,
        attributes: {
          trainingRunId: run,
          seedsRemoved: attributes.seedsRemoved,
          seedsRestored: attributes.seedsRestored,
          toStep: attributes.toStep,
        },
      });
    this.ctx.log.warn(attributes, "rolled back");
  }

  /**
   * Reports a breaker state change since the last look (`tolaria.breaker.state_changed`, WARNING when it
   * opened) and conservative mode entering (WARNING `tolaria.conservative_mode.entered`) or clearing
   * (INFO `tolaria.conservative_mode.cleared`); gauge `tolaria.breaker.state`.
   */
  private noteBreaker(nowMs: number, why: string): void {
    const state = this.breaker.state(nowMs);
    const run = this.ctx.runId;
    this.ctx.telemetry.metric("tolaria.breaker.state", state, { attributes: { trainingRunId: run } });
    const from = this.lastState;
    if (state === from) return;
    this.lastState = state;
    const attributes = { trainingRunId: run, from: breakerName(from), to: breakerName(state) };
    this.ctx.telemetry.event("tolaria.breaker.state_changed", {
      level: state === CircuitBreakerState.OPEN ? "WARNING" : "INFO",
      description: `circuit breaker ${breakerName(from)} → ${breakerName(state)} (${why})`,
      attributes,
    });
    if (state === CircuitBreakerState.OPEN)
      this.ctx.telemetry.event("tolaria.conservative_mode.entered", {
        level: "WARNING",
        description: "conservative mode: Tamiyo is skipped while the breaker is open",
        attributes,
      });
    else if (from === CircuitBreakerState.OPEN)
      this.ctx.telemetry.event("tolaria.conservative_mode.cleared", {
        level: "INFO",
        description: `conservative mode cleared: Tamiyo is asked again (breaker ${breakerName(state)})`,
        attributes,
      });
  }
}
