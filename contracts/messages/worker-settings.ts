import { z } from "zod";
import { PerformanceBudgets, SystemLimits } from "../budgets.ts";
import { uint32 } from "../primitives.ts";

const ms = (min: number, max: number, fallback: number) =>
  z.number().int().min(min).max(max).default(fallback);

/**
 * Worker settings shared by every actor, stored in the `<ns>_settings` KV bucket (written only by
 * the supervisor, Weatherlight) and watched live. This schema is the one home of their defaults.
 * `worker.shutdownGraceMs` is the drain budget of every actor; the supervisor drains within
 * `supervisor.shutdownGraceMs`, which must be larger so it can wait for its children.
 */
export const WorkerSettings = z
  .strictObject({
    revision: uint32.default(0),
    worker: z
      .strictObject({
        concurrency: z.number().int().min(1).max(256).default(4),
        queueCapacity: z.number().int().min(1).max(SystemLimits.maxQueueDepth).default(1024),
        defaultTimeoutMs: ms(1, 600_000, 5_000),
        shutdownGraceMs: ms(0, 120_000, 5_000),
      })
      .prefault({}),
    mailbox: z
      .strictObject({
        capacity: z.number().int().min(1).max(SystemLimits.maxQueueDepth).default(1024),
        concurrency: z.number().int().min(1).max(256).default(8),
      })
      .prefault({}),
    cadence: z
      .strictObject({
        heartbeatIntervalMs: ms(50, 60_000, 1_000),
        telemetryFlushIntervalMs: ms(10, 60_000, 1_000),
        seedReportEverySteps: z.number().int().min(1).max(100_000).default(10),
        checkpointEveryEpochs: z.number().int().min(1).max(10_000).default(1),
      })
      .prefault({}),
    timeouts: z
      .strictObject({
        /** Tolaria's wait for Tamiyo's decision per epoch (the original's tamiyo_timeout_s, 2 s). */
        decisionDeadlineMs: ms(1, 60_000, 2_000),
        prefetchDeadlineMs: ms(1, 120_000, 2_000),
        heartbeatMissedAfterMs: ms(100, 600_000, 5_000),
      })
      .prefault({}),
    budgets: z
      .strictObject({
        epochBoundaryMs: ms(1, 60_000, PerformanceBudgets.epochBoundaryMs),
        tamiyoInferenceMs: ms(1, 60_000, PerformanceBudgets.tamiyoInferenceMs),
        stateAssemblyMs: ms(1, 60_000, PerformanceBudgets.systemStateAssemblyMs),
        adaptationProcessingMs: ms(1, 60_000, PerformanceBudgets.adaptationProcessingMs),
        fastRollbackMs: ms(1, 600_000, PerformanceBudgets.fastRollbackMs),
      })
      .prefault({}),
    security: z
      .strictObject({
        nonceTtlMs: ms(1_000, 86_400_000, 300_000),
        nonceMaxEntries: z.number().int().min(1).max(10_000_000).default(100_000),
        freshnessWindowMs: ms(100, 3_600_000, 60_000),
        maxClockSkewMs: ms(0, 600_000, 5_000),
      })
      .prefault({}),
    emergency: z
      .strictObject({
        tokenBucketCapacity: z.number().int().min(1).max(100_000).default(120),
        tokenRefillPerMinute: z.number().int().min(1).max(1_000_000).default(120),
      })
      .prefault({}),
    seeds: z
      .strictObject({
        embargoMs: ms(0, 86_400_000, 30_000),
        blendSteps: z.number().int().min(1).max(1_000_000).default(20),
        /** The tanh temperature of Kasmina's α schedule (reference 2). */
        blendTemperature: z.number().positive().max(1_000).default(2),
      })
      .prefault({}),
    /** Kasmina's gate thresholds (G1–G4 judge Tolaria's seed reports). */
    gates: z
      .strictObject({
        /** G2: consecutive TRAINING reports with non-increasing loss before BLENDING. */
        trainingReports: z.number().int().min(1).max(10_000).default(3),
        /** G4: consecutive harmless SHADOWING reports before PROBATIONARY. */
        shadowingReports: z.number().int().min(1).max(10_000).default(3),
        /** G4: consecutive harmless PROBATIONARY reports before FOSSILIZED. */
        probationReports: z.number().int().min(1).max(10_000).default(3),
        /** G3/G4: how far a report's `loss` may exceed its `hostLoss` before it harms the host. */
        harmMargin: z.number().min(0).max(1_000_000).default(0.05),
        /** G3/G4: consecutive harmful reports of a stage before the seed is culled. */
        harmReports: z.number().int().min(1).max(10_000).default(3),
        /** G1: the largest `isolationLeak` a report may carry (reference: |dot| ≤ 1e-6). */
        isolationLeakMax: z.number().min(0).max(1_000_000).default(1e-6),
        /** G2: the largest seed gradient norm a TRAINING report may carry. */
        seedGradientNormMax: z.number().positive().max(1e12).default(1_000),
      })
      .prefault({}),
    /** Tolaria: OPTIMIZER bounds, failed epochs and loss spikes, rollback tiers, the breaker. */
    tolaria: z
      .strictObject({
        learningRateMin: z.number().positive().max(10).default(1e-6),
        learningRateMax: z.number().positive().max(10).default(1),
        /** Failed epochs in a row that raise the emergency level to HALT. */
        haltAfterFailedEpochs: z.number().int().min(1).max(1_000).default(3),
        /**
         * A loss spike: an epoch whose mean training loss exceeds the previous epoch's by more than
         * this. The epoch fails and is rolled back. The reference's max_loss_spike is 0.15 (Tamiyo's
         * PAUSE rule); the default job with a fossilized seed has self-correcting bursts up to 0.38
         * (measured 2026-11-30) that a rollback cannot avoid, hence 0.5.
         */
        lossSpikeDelta: z.number().positive().max(1e6).default(0.5),
        /** The rollback tiers: the in-memory ring's bound and each tier's restore deadline. */
        rollback: z
          .strictObject({
            /** Bytes the fast tier's snapshot ring holds at most (the reference's 32 MB); read at start. */
            fastRingBytes: z
              .number()
              .int()
              .min(1)
              .max(2 ** 40)
              .default(32 * 1024 * 1024),
            /** A fast (in-memory) restore taking longer than this escalates to HALT (design SLA 500 ms). */
            fastDeadlineMs: z.number().positive().max(600_000).default(500),
            /** A full (checkpoint) restore not done by this is cancelled and escalates to HALT (12 s). */
            fullDeadlineMs: z.number().positive().max(600_000).default(12_000),
            /** Checkpoints kept on disk: a write beyond this deletes the oldest (manifest first, then file); read at start. */
            keepCheckpoints: z.number().int().min(1).max(100_000).default(10),
          })
          .prefault({}),
        /** The circuit breaker over Tamiyo's decisions (the reference's 3 failures, 1 success, 30 s); read at start. */
        breaker: z
          .strictObject({
            failureThreshold: z.number().int().min(1).max(1_000_000).default(3),
            successThreshold: z.number().int().min(1).max(1_000_000).default(1),
            openTimeoutMs: ms(1, 86_400_000, 30_000),
          })
          .prefault({}),
      })
      .refine((o) => o.learningRateMax >= o.learningRateMin, {
        path: ["learningRateMax"],
        message: "must be at least learningRateMin",
      })
      .prefault({}),
    /** Urza's kernel cache. */
    urza: z
      .strictObject({
        /** The prefetch cache's bound: the artifact bytes it holds at most (LRU eviction beyond). */
        kernelCacheBytes: z
          .number()
          .int()
          .min(0)
          .max(2 ** 40)
          .default(64 * 1024 * 1024),
        /** A request waiting longer than this for another request's fetch of the same kernel is a WARNING. */
        lockWaitWarnMs: ms(1, 600_000, 100),
      })
      .prefault({}),
    supervisor: z
      .strictObject({
        shutdownGraceMs: ms(0, 600_000, 30_000),
        /** How long a child actor has, from its spawn, to report itself running by heartbeat. */
        readyTimeoutMs: ms(1_000, 600_000, 60_000),
        /** Restart intensity (OTP): at most this many child restarts within `restartPeriodMs`; one more → degraded. */
        restartIntensity: z.number().int().min(0).max(1_000).default(5),
        /** The sliding window of `restartIntensity`. */
        restartPeriodMs: ms(1_000, 86_400_000, 60_000),
        /**
         * The delay of a child's second restart within the period (the first is immediate); each further
         * one multiplies it by `backoffFactor`. 100 ms is systemd's RestartSec default; the restart
         * intensity, not the backoff, is what stops a crash loop.
         */
        backoffBaseMs: ms(0, 600_000, 100),
        /** The longest restart delay, jitter included. */
        backoffMaxMs: ms(0, 600_000, 10_000),
        backoffFactor: z.number().min(1).max(10).default(2),
        /** Random extra delay, as a fraction of the delay (uniform in [0, jitter·delay)), so restarts do not march in step. */
        backoffJitter: z.number().min(0).max(1).default(0.25),
      })
      .refine((s) => s.backoffMaxMs >= s.backoffBaseMs, {
        path: ["backoffMaxMs"],
        message: "must be at least backoffBaseMs",
      })
      .prefault({}),
  })
  .superRefine((s, ctx) => {
    if (s.supervisor.shutdownGraceMs <= s.worker.shutdownGraceMs) {
      ctx.addIssue({
        code: "custom",
        path: ["supervisor", "shutdownGraceMs"],
        message: `must be larger than worker.shutdownGraceMs (${s.worker.shutdownGraceMs}) so the supervisor can wait for its children`,
      });
    }
  });
/** Worker settings after defaults are applied. */
export type WorkerSettings = z.output<typeof WorkerSettings>;
/** Worker settings as written (every field may be omitted). */
export type WorkerSettingsInput = z.input<typeof WorkerSettings>;
