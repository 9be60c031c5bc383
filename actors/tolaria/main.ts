import type { BusConnection } from "../../bus/connection.ts";
import { RetryableError } from "../../bus/jetstream/consume.ts";
import { streamExists } from "../../bus/jetstream/context.ts";
import { openArtifactStore } from "../../bus/objects.ts";
import { storeName } from "../../contracts/stores.ts";
import type { JobPreset } from "../../nn/presets/job-preset.ts";
import { JOB_ENV, jobPresets, selectJob } from "../../nn/presets/job-selection.ts";
import { loadPresetData, type PresetData } from "../../nn/presets/preset-run.ts";
import type { ActorDefinition, PreflightCheck } from "../runtime/actor-types.ts";
import { signingKey } from "../runtime/command-verifier.ts";
import { isProcessEntry, runMain } from "../runtime/main-entry.ts";
import { signingKeyCheck } from "../runtime/preflight-checks.ts";
import { checkpointDirOf } from "./checkpoint-dir.ts";
import { CheckpointStore } from "./checkpoints.ts";
import { CircuitBreaker } from "./circuit-breaker.ts";
import type { CommandTarget } from "./command-apply.ts";
import { CommandIntake } from "./command-intake.ts";
import { DirectiveAcks } from "./directive-acks.ts";
import { EmergencyLevels } from "./emergency-levels.ts";
import { haltRun } from "./halt.ts";
import { RollbackTiers } from "./rollback-tiers.ts";
import { tolariaRunOptions } from "./run-options.ts";
import { RunSafety } from "./run-safety.ts";
import { Trainer } from "./trainer.ts";
import { runTraining } from "./training-loop.ts";

/** How a Tolaria actor finds its job. */
export interface TolariaOptions {
  /** Where ESPER_JOB is read (at preflight). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The presets ESPER_JOB may name; default `jobPresets`. */
  readonly presets?: Readonly<Record<string, JobPreset>>;
}

interface Job {
  readonly preset: JobPreset;
  readonly data: PresetData;
}

/**
 * Builds the Tolaria actor. Preflight: ESPER_JOB names a known preset (unset: the default, announced
 * in the log and an INFO event `tolaria.job.selected`), its dataset loads (Fashion-MNIST: an error
 * naming the Debian package), the `kernels` object store exists. Start: consumes the run's
 * `tolaria-seed-directives`, each directive acked only once it was applied or refused at a step
 * boundary (refused: CRITICAL `tolaria.directive.refused`, acked); runs the training as long task
 * `training` and ends with `ctx.finish("job complete")`.
 */
export function createTolariaActor(options: TolariaOptions): ActorDefinition {
  const jobs = new WeakMap<BusConnection, Job>();
  const checkpointDirs = new WeakMap<BusConnection, string>();
  const checkpointDirCheck: PreflightCheck = {
    name: "tolaria-checkpoint-dir",
    async run(ctx) {
      checkpointDirs.set(ctx.bus, await checkpointDirOf(options.env));
    },
  };
  const jobCheck: PreflightCheck = {
    name: "tolaria-job",
    async run(ctx) {
      const { preset, defaulted } = selectJob(options.env, options.presets ?? jobPresets);
      const data = await loadPresetData(preset);
      jobs.set(ctx.bus, { preset, data });
      const how = defaulted ? `${JOB_ENV} not set: the default job` : `${JOB_ENV}=${preset.name}`;
      ctx.log.info({ job: preset.name, defaulted }, `${how} ${preset.name}`);
      ctx.telemetry.event("tolaria.job.selected", {
        level: "INFO",
        description: `${how} ${preset.name}: ${preset.epochs} epochs of ${preset.stepsPerEpoch} steps`,
        attributes: { job: preset.name, defaulted: String(defaulted), epochs: String(preset.epochs) },
      });
    },
  };
  const kernelsCheck: PreflightCheck = {
    name: "tolaria-kernels",
    async run(ctx) {
      const kernels = storeName(ctx.bus.namespace, "kernels");
      if (!(await streamExists(ctx.bus, `OBJ_${kernels}`)))
        throw new Error(
          `object store ${kernels} does not exist: start Weatherlight or run \`esper resources ensure\``,
        );
    },
  };
  return {
    name: "tolaria",
    preflight: [signingKeyCheck, checkpointDirCheck, jobCheck, kernelsCheck],
    async start(ctx) {
      const job = jobs.get(ctx.bus);
      const checkpointDir = checkpointDirs.get(ctx.bus);
      if (job === undefined || checkpointDir === undefined)
        throw new Error("tolaria started without its job and checkpoint dir: the preflight did not run");
      const kernels = await openArtifactStore(ctx.bus, "kernels");
      const runOptions = tolariaRunOptions(options.env);
      const trainer = new Trainer({
        preset: job.preset,
        data: job.data,
        trainingRunId: ctx.runId,
        fetchKernel: (kernel) => kernels.get(kernel.artifactRef),
        reportEverySteps: ctx.settings().cadence.seedReportEverySteps,
        intraOpNumThreads: 1,
        now: Date.now,
        pcgrad: runOptions.pcgrad,
      });
      const acks = new DirectiveAcks();
      const intake = new CommandIntake(ctx, signingKey(ctx.process.signingKey));
      const settings = ctx.settings().tolaria;
      const store = await CheckpointStore.open(checkpointDir, settings.rollback.keepCheckpoints);
      const safety = new RunSafety(
        ctx,
        trainer,
        new EmergencyLevels(settings.haltAfterFailedEpochs),
        new CircuitBreaker(settings.breaker),
        new RollbackTiers(settings.rollback.fastRingBytes, store),
      );
      const target: CommandTarget = {
        levels: safety.levels,
        paused: false,
        bounds: settings,
        setLearningRate: (lr) => trainer.setLearningRate(lr),
        setBreaker: (state) => safety.setBreaker(state),
      };
      let trainingOver = false;
      await ctx.consume(
        { name: "tolaria-commands", run: ctx.runId },
        async (command) => {
          if (trainingOver) throw new Error(`command ${command.commandId} arrived after the training ended`);
          await intake.receive(command);
        },
        { mailbox: "commands", mode: "ordered" },
      );
      await ctx.consume(
        { name: "tolaria-seed-directives", run: ctx.runId },
        async (directive) => {
          if (trainingOver)
            throw new Error(`directive ${directive.directiveId} arrived after the training ended`);
          const outcome = trainer.enqueue(directive);
          if (outcome.status === "duplicate") {
            ctx.log.warn({ directiveId: directive.directiveId }, `duplicate directive: ${outcome.reason}`);
            return;
          }
          await acks.wait(directive);
        },
        { mailbox: "directives", mode: "ordered" },
      );
      ctx.runTask("training", async (signal) => {
        try {
          const { counts, halt } = await runTraining(
            ctx,
            trainer,
            acks,
            { intake, target },
            safety,
            signal,
            runOptions.profileDir,
          );
          ctx.log.info(counts, "training ended");
          if (halt !== undefined) {
            try {
              const { reason, checkpoint } = await haltRun(ctx, trainer, store, halt);
              if (halt.kind === "command")
                intake.applied(
                  halt.pending,
                  `halted at step ${checkpoint.step}, checkpoint ${checkpoint.file}`,
                );
              ctx.finish(reason);
            } catch (err) {
              if (halt.kind === "command") halt.pending.reject(err as Error);
              throw err;
            }
          } else if (!signal.aborted) ctx.finish("job complete");
        } finally {
          trainingOver = true;
          intake.closeAll(
            signal.aborted
              ? new RetryableError("tolaria is draining: command not applied")
              : new Error("the training ended before the command's step boundary"),
          );
          acks.closeAll(
            signal.aborted
              ? new RetryableError("tolaria is draining: directive not applied")
              : new Error("the training ended before the directive's step boundary"),
          );
          await trainer.release();
        }
      });
    },
  };
}

/** Tolaria, its job named by ESPER_JOB in the process environment. */
export const actor: ActorDefinition = createTolariaActor({ env: process.env });

if (isProcessEntry(import.meta.url)) await runMain(actor);
