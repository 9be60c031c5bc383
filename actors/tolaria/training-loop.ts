import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { publishToStream } from "../../bus/jetstream/publish.ts";
import { request } from "../../bus/typed.ts";
import type { SystemStatePacket } from "../../contracts/messages/state.ts";
import type { ActorContext } from "../runtime/actor-types.ts";
import { BOUNDARY_METRICS } from "./boundary-metrics.ts";
import type { CommandTarget } from "./command-apply.ts";
import { commandBoundary } from "./command-boundary.ts";
import type { CommandIntake } from "./command-intake.ts";
import type { DirectiveAcks } from "./directive-acks.ts";
import { judgeEpoch } from "./epoch-verdict.ts";
import type { HaltOrder } from "./halt.ts";
import { measureHardware } from "./hardware-context.ts";
import { type EpochProfile, PHASES, phaseMetricName, writeEpochTrace } from "./profiler.ts";
import type { RunSafety } from "./run-safety.ts";
import type { RefusedDirective, Trainer } from "./trainer.ts";

/** What the training loop counted. */
export interface TrainingCounts {
  epochs: number;
  steps: number;
  reportsPublished: number;
  packetsPublished: number;
  directivesApplied: number;
  directivesRefused: number;
  decisionsReceived: number;
  decisionTimeouts: number;
  decisionsSkipped: number;
  epochsFailed: number;
}

/** Tolaria's commands: the intake and what they change. */
export interface TrainingCommands {
  readonly intake: CommandIntake;
  readonly target: CommandTarget;
}

/** How the training ended: its counts, and the HALT order when a command or an automatic trigger stopped it. */
export interface TrainingResult {
  readonly counts: TrainingCounts;
  readonly halt: HaltOrder | undefined;
}

/**
 * Runs `trainer` to the end of its preset (or until `signal` aborts, or a HALT): keeps the start's
 * state in the rollback ring and as a checkpoint; then one step at a time, yielding to the event loop
 * between steps; applies the waiting commands before each step (waiting there while paused); releases
 * each boundary's directive handlers; publishes the SeedReports. Per epoch: a loss spike
 * (`judgeEpoch`) fails the epoch, which is rolled back and raises the level (`RunSafety.failedEpoch`;
 * no packet, no Tamiyo: the epoch is trained again). A good epoch is validated, its loss, accuracy
 * and parameter count recorded, and its SystemStatePacket (with the run's control state) published on
 * `state.{run}` while Tamiyo is asked (`tamiyoEvaluate`) within `timeouts.decisionDeadlineMs`, unless
 * the breaker is open (conservative mode: skipped and reported, no command); a failed publish fails the
 * run whatever Tamiyo answered. A failed or late decision is counted and reported (WARNING
 * `tolaria.decision.timeout`) and counts toward the breaker; training goes on.
 * Then the boundary's state is kept in the ring, and as a checkpoint every `cadence.checkpointEveryEpochs`.
 */
export async function runTraining(
  ctx: ActorContext,
  trainer: Trainer,
  acks: DirectiveAcks,
  commands: TrainingCommands,
  safety: RunSafety,
  signal: AbortSignal,
  profileDir?: string,
): Promise<TrainingResult> {
  const run = ctx.runId;
  const counts: TrainingCounts = {
    epochs: 0,
    steps: 0,
    reportsPublished: 0,
    packetsPublished: 0,
    directivesApplied: 0,
    directivesRefused: 0,
    decisionsReceived: 0,
    decisionTimeouts: 0,
    decisionsSkipped: 0,
    epochsFailed: 0,
  };
  const boundary: { tamiyoLatencyMs?: number; hookLatencyMs?: number } = {};
  await safety.keep(true);
  while (!trainer.done && !signal.aborted) {
    const halt = await commandBoundary(ctx, commands.intake, commands.target, safety, signal);
    if (halt !== undefined) return { counts, halt };
    if (signal.aborted) break;
    const out = await trainer.step();
    counts.steps++;
    counts.directivesApplied += out.applied.length;
    for (const r of out.refused) reportRefused(ctx, r);
    counts.directivesRefused += out.refused.length;
    acks.settle(out.applied, out.refused);
    if (out.applied.length + out.refused.length > 0) {
      ctx.telemetry.metric(BOUNDARY_METRICS.directiveApply, out.directiveApplyMs, {
        unit: "ms",
        attributes: { trainingRunId: run, step: String(out.globalStep) },
      });
    }
    for (const report of out.reports) {
      await publishToStream(ctx.bus, "seedReport", report, { params: { run } });
      counts.reportsPublished++;
    }
    if (out.epochFinished) {
      const verdict = judgeEpoch(trainer.epochFigures(), ctx.settings().tolaria.lossSpikeDelta);
      if (verdict.failed) {
        counts.epochsFailed++;
        const failedHalt = await safety.failedEpoch(out.epoch, verdict);
        if (failedHalt !== undefined) return { counts, halt: failedHalt };
        await recordProfile(ctx, trainer.profiler.take(), out.epoch, profileDir);
        await yieldToEventLoop();
        continue;
      }
      safety.epochSucceeded();
      const boundaryStart = performance.now();
      const validation = await trainer.validate();
      const hardware = measureHardware();
      const control = safety.atBoundary(Date.now());
      const { packet, assemblyMs } = trainer.statePacket(validation, hardware, boundary, control);
      const published = publishToStream(ctx.bus, "statePacket", packet, { params: { run } });
      recordEpoch(ctx, trainer, out.epoch, validation, assemblyMs);
      if (control.conservativeMode) {
        await published;
        counts.decisionsSkipped++;
        safety.skipDecision(out.epoch, packet.packetId);
      } else {
        const [, decided] = await Promise.all([published, askTamiyo(ctx, packet, counts, signal)]);
        boundary.tamiyoLatencyMs = decided.ms;
        const breakerHalt = await safety.decision(decided.ok, out.epoch);
        if (breakerHalt !== undefined) return { counts, halt: breakerHalt };
      }
      counts.packetsPublished++;
      counts.epochs++;
      const boundaryMs = performance.now() - boundaryStart;
      boundary.hookLatencyMs = boundaryMs;
      ctx.telemetry.metric(BOUNDARY_METRICS.epochBoundary, boundaryMs, {
        unit: "ms",
        attributes: { trainingRunId: run, epoch: String(out.epoch) },
      });
      trainer.profiler.record("control", boundaryStart, boundaryMs);
      await safety.keep(trainer.epoch % ctx.settings().cadence.checkpointEveryEpochs === 0);
      await recordProfile(ctx, trainer.profiler.take(), out.epoch, profileDir);
    }
    await yieldToEventLoop();
  }
  return { counts, halt: undefined };
}

function reportRefused(ctx: ActorContext, r: RefusedDirective): void {
  const d = r.directive;
  ctx.telemetry.event("tolaria.directive.refused", {
    level: "CRITICAL",
    description: `directive ${d.directiveId} (seed ${d.seedId}, sequence ${d.sequence}) refused: ${r.error.message}`,
    attributes: {
      trainingRunId: d.trainingRunId,
      directiveId: d.directiveId,
      seedId: d.seedId,
      sequence: String(d.sequence),
      reason: r.error.message,
    },
  });
  ctx.log.error({ directiveId: d.directiveId, err: r.error }, "directive refused");
}

function recordEpoch(
  ctx: ActorContext,
  trainer: Trainer,
  epoch: number,
  validation: { loss: number; accuracy: number },
  assemblyMs: number,
): void {
  const f = trainer.epochFigures();
  const attributes = { trainingRunId: ctx.runId, epoch: String(epoch) };
  ctx.telemetry.metric("tolaria.epoch.loss", f.loss, { attributes });
  ctx.telemetry.metric("tolaria.epoch.accuracy", f.accuracy, { attributes });
  ctx.telemetry.metric("tolaria.epoch.validation_loss", validation.loss, { attributes });
  ctx.telemetry.metric("tolaria.epoch.validation_accuracy", validation.accuracy, { attributes });
  ctx.telemetry.metric("tolaria.model.parameter_count", trainer.parameterCount, { attributes });
  ctx.telemetry.metric(BOUNDARY_METRICS.stateAssembly, assemblyMs, { unit: "ms", attributes });
  ctx.log.info(
    { epoch, loss: f.loss, accuracy: f.accuracy, validation, parameters: trainer.parameterCount },
    "epoch finished",
  );
}

async function askTamiyo(
  ctx: ActorContext,
  packet: SystemStatePacket,
  counts: TrainingCounts,
  signal: AbortSignal,
): Promise<{ readonly ok: boolean; readonly ms: number }> {
  const timeoutMs = ctx.settings().timeouts.decisionDeadlineMs;
  const sent = performance.now();
  const roundTrip = (): number => {
    const ms = performance.now() - sent;
    ctx.telemetry.metric(BOUNDARY_METRICS.decisionRoundTrip, ms, {
      unit: "ms",
      attributes: { trainingRunId: packet.trainingRunId, epoch: String(packet.currentEpoch) },
    });
    return ms;
  };
  try {
    const decision = await request(ctx.bus, "tamiyoEvaluate", packet, { timeoutMs, signal });
    const ms = roundTrip();
    counts.decisionsReceived++;
    const detail =
      decision.outcome === "noAction"
        ? { reason: decision.reason }
        : { commandId: decision.command.commandId, targetSeedId: decision.command.targetSeedId };
    ctx.log.info(
      { epoch: packet.currentEpoch, outcome: decision.outcome, ...detail },
      "tamiyo decision received",
    );
    return { ok: true, ms };
  } catch (err) {
    const ms = roundTrip();
    counts.decisionTimeouts++;
    ctx.telemetry.metric("tolaria.decision.timeouts", counts.decisionTimeouts);
    ctx.telemetry.event("tolaria.decision.timeout", {
      level: "WARNING",
      description: `no decision from Tamiyo within ${timeoutMs} ms for epoch ${packet.currentEpoch}: ${(err as Error).message}`,
      attributes: {
        trainingRunId: packet.trainingRunId,
        epoch: String(packet.currentEpoch),
        packetId: packet.packetId,
      },
    });
    return { ok: false, ms };
  }
}

/** Per-phase telemetry of an epoch (`tolaria.phase.<phase in snake case>_ms`) and, with `profileDir`, its trace file. */
async function recordProfile(
  ctx: ActorContext,
  profile: EpochProfile,
  epoch: number,
  profileDir: string | undefined,
): Promise<void> {
  const attributes = { trainingRunId: ctx.runId, epoch: String(epoch) };
  for (const phase of PHASES)
    ctx.telemetry.metric(phaseMetricName(phase), profile.totals[phase], { unit: "ms", attributes });
  if (profileDir === undefined) return;
  const path = await writeEpochTrace(profileDir, profile, { trainingRunId: ctx.runId, epoch });
  ctx.log.info({ epoch, path }, "profiler trace written");
}
