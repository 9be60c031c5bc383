import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import { SeedLifecycleStage } from "../../contracts/enums.ts";
import type { BlendScheduleSpec } from "../../contracts/messages/command.ts";
import type { KernelRef, SeedDirective, SeedReport } from "../../contracts/messages/seed.ts";
import type { HardwareContext } from "../../contracts/messages/state.ts";
import { seedIdOf } from "../../contracts/seed-ids.ts";
import { type Batch, BatchIterator } from "../../nn/data/batches.ts";
import { argmaxAccuracy } from "../../nn/model/accuracy.ts";
import { DEFAULT_MAX_SESSIONS, ModelRunner, type StepInputs } from "../../nn/model/runner.ts";
import { type SeedEntry, SeedRegistry } from "../../nn/model/seed-registry.ts";
import type { ConfidenceGate } from "../../nn/model/slots.ts";
import { layoutOf } from "../../nn/model/spec.ts";
import { ADAMW_DEFAULTS } from "../../nn/optim/adamw.ts";
import { gradNorm } from "../../nn/optim/grads.ts";
import type { Optimizer } from "../../nn/optim/optimizer.ts";
import { restoreTrainingSnapshot, takeTrainingSnapshot } from "../../nn/optim/training-snapshot.ts";
import { ParameterStore } from "../../nn/params/store.ts";
import type { JobPreset } from "../../nn/presets/job-preset.ts";
import type { PresetData } from "../../nn/presets/preset-run.ts";
import { optimizerOf } from "../../nn/presets/preset-run.ts";
import { createRng, type Rng } from "../../nn/rng.ts";
import { scheduledAlpha } from "./blend-schedule.ts";
import { blendModeOf, confidenceGateOf } from "./directive-blend.ts";
import { DirectiveQueue, type EnqueueOutcome } from "./directive-queue.ts";
import { DirectiveRefusedError, KernelChecksumError } from "./errors.ts";
import { aggregateStep, type SeedStepMeasure } from "./gradient-aggregation.ts";
import { StepProfiler } from "./profiler.ts";
import { gradientNorm, measureSeedReports, type ReportedSeed, type WindowMeasures } from "./seed-reports.ts";
import {
  type AssembledPacket,
  assembleStatePacket,
  type BoundaryLatencies,
  type EpochFigures,
  type RunControlState,
  type SlotState,
} from "./state-packet.ts";
import type { EpochAccumulator, SeedWindow, SnapshotSeed, TrainerSnapshot } from "./trainer-snapshot.ts";

/** Fetches a kernel artifact's bytes by its reference (Urza's object store, in the actor). */
export type KernelFetcher = (kernel: KernelRef) => Promise<Uint8Array>;

/** What a trainer needs besides its preset. */
export interface TrainerOptions {
  readonly preset: JobPreset;
  readonly data: PresetData;
  readonly trainingRunId: string;
  readonly fetchKernel: KernelFetcher;
  /** A SeedReport per live seed every this many steps (global step count). */
  readonly reportEverySteps: number;
  readonly intraOpNumThreads: number;
  /** Wall clock (epoch ms) for `issuedAt`. */
  readonly now: () => number;
  /**
   * Whether PCGrad's aggregate replaces the gradients of the host parameters shared by the host path
   * and the seed paths (the reference's TOLARIA_PCGRAD_ENABLED). Conflicts are measured either way.
   */
  readonly pcgrad: boolean;
}

/** A directive that could not be applied, with the reason; its sequence is used up. */
export interface RefusedDirective {
  readonly directive: SeedDirective;
  readonly error: Error;
}

/** What one step did: its boundary's directives, its loss, the reports it produced. */
export interface StepOutcome {
  /** Epoch the step belongs to. */
  readonly epoch: number;
  /** Steps completed, this one included. */
  readonly globalStep: number;
  readonly loss: number;
  /** Directives applied at the step's boundary, in order (the caller acks them). */
  readonly applied: readonly SeedDirective[];
  readonly refused: readonly RefusedDirective[];
  /** Time spent applying this boundary's directives, in ms (0 when none were due). */
  readonly directiveApplyMs: number;
  readonly reports: readonly SeedReport[];
  /** The step was the epoch's last: `epochFigures()` and `statePacket()` describe that epoch. */
  readonly epochFinished: boolean;
}

/** Validation loss and accuracy over the whole validation set. */
export interface ValidationResult {
  readonly loss: number;
  readonly accuracy: number;
}

interface SeedMeta {
  readonly blueprintId: string;
  readonly graftEpoch: number;
  schedule: { readonly spec: BlendScheduleSpec; step: number } | undefined;
  stepsSinceReport: number;
  lastGradientNorm: number;
  /** Sums of the per-step measures since the last report. */
  window: SeedWindow;
}

const emptyWindow = (): SeedWindow => ({
  interfaceGradientNorm: 0,
  gradientShare: 0,
  gradientCosine: 0,
  conflicts: 0,
  conflictRatio: 0,
  steps: 0,
});

/** EWMA weight of the loss and gradient-norm trackers (the reference's 0.2). */
export const EWMA_WEIGHT = 0.2;

const SEED_STAGES: ReadonlySet<SeedLifecycleStage> = new Set([
  SeedLifecycleStage.GERMINATED,
  SeedLifecycleStage.TRAINING,
  SeedLifecycleStage.BLENDING,
  SeedLifecycleStage.SHADOWING,
  SeedLifecycleStage.PROBATIONARY,
  SeedLifecycleStage.FOSSILIZED,
]);

/**
 * Trains a JobPreset's host step by step: seeded data order, parameter store, ONNX runner, optimizer
 * and seed registry (the same construction as `runPreset`, so the same directives give its numbers).
 * At each step boundary the queued seed directives are applied first (in sequence order per seed,
 * each once); BLENDING α is fed per step; a SeedReport per live seed every `reportEverySteps` steps.
 */
export class Trainer {
  readonly preset: JobPreset;
  private readonly options: TrainerOptions;
  private readonly runner: ModelRunner;
  private readonly registry: SeedRegistry<object>;
  private readonly optimizer: Optimizer<object>;
  /** Each live seed's kernel bytes, kept for a rollback's re-graft. */
  private readonly kernels = new Map<string, Uint8Array>();
  private batches: BatchIterator<"int32">;
  /** The data order's root stream; `reshuffle` forks a fresh order from it. */
  private readonly shuffleRoot: Rng;
  /** Fresh data orders drawn so far (not rewound by a restore). */
  private reshuffles = 0;
  private readonly queue = new DirectiveQueue();
  private readonly meta = new Map<string, SeedMeta>();
  private readonly generations = new Map<string, number>();
  private readonly alphaVecs = new Map<string, Float32Array>();
  private iterator: IterableIterator<Batch<"int32">> | undefined;
  private epochIndex = 0;
  private stepInEpoch = 0;
  private steps = 0;
  private acc: EpochAccumulator | undefined;
  private lossEwma: number | undefined;
  private lossVariance = 0;
  private gradNormEwma: number | undefined;
  private previousEpochLoss: number | undefined;
  private lastFigures: EpochFigures | undefined;
  /** Restores so far (not rewound by one): tags packet and report ids of the steps trained again. */
  private restores = 0;
  private readonly pcgradRng;
  /** Per-phase timings of the current epoch (read with `takeProfile` at the epoch's end). */
  readonly profiler = new StepProfiler();

  constructor(options: TrainerOptions) {
    const { preset } = options;
    if (preset.host.loss !== "softmaxCrossEntropy")
      throw new Error(`preset '${preset.name}': host loss must be softmaxCrossEntropy`);
    if (!Number.isSafeInteger(options.reportEverySteps) || options.reportEverySteps < 1)
      throw new Error(`reportEverySteps must be an integer >= 1, got ${options.reportEverySteps}`);
    this.preset = preset;
    this.options = options;
    const rng = createRng(preset.initSeed);
    this.pcgradRng = rng.fork("pcgrad");
    const store = new ParameterStore(rng.fork("init"));
    const layout = layoutOf(preset.host);
    for (const p of layout.params) store.add(p.name, p.shape, p.init);
    this.runner = new ModelRunner(
      preset.host,
      store,
      { intraOpNumThreads: options.intraOpNumThreads },
      () => true,
      DEFAULT_MAX_SESSIONS + layout.slots.length,
      true,
    );
    const optimizer = optimizerOf(preset, store);
    optimizer.addGroup("host", store.names());
    this.optimizer = optimizer;
    this.registry = new SeedRegistry(this.runner, optimizer);
    this.shuffleRoot = rng.fork("shuffle");
    this.batches = this.batchesOf(this.shuffleRoot);
    if (preset.stepsPerEpoch > this.batches.batchesPerEpoch) {
      throw new Error(
        `preset '${preset.name}': stepsPerEpoch ${preset.stepsPerEpoch} exceeds the ${this.batches.batchesPerEpoch} batches of an epoch`,
      );
    }
  }

  /** The host group's learning rate now (the preset's until an OPTIMIZER command changes it). */
  get learningRate(): number {
    return this.optimizer.lr("host");
  }

  /** Sets the host group's learning rate from the next step on; seed groups keep theirs. */
  setLearningRate(lr: number): void {
    this.optimizer.setLr("host", lr);
  }

  /** Epochs finished. */
  get epoch(): number {
    return this.epochIndex;
  }

  /** Steps completed. */
  get globalStep(): number {
    return this.steps;
  }

  /** Whether every epoch of the preset has run. */
  get done(): boolean {
    return this.epochIndex >= this.preset.epochs;
  }

  /** Parameters in the store (host and live seeds). */
  get parameterCount(): number {
    const store = this.runner.store;
    return store.names().reduce((n, p) => n + store.get(p).length, 0);
  }

  /** Parameter store names (host and live seeds). */
  parameterNames(): string[] {
    return this.runner.store.names();
  }

  /** The live seeds. */
  seeds(): SeedEntry[] {
    return this.registry.seeds();
  }

  /** Duplicate directives skipped so far. */
  get duplicateDirectives(): number {
    return this.queue.duplicates;
  }

  /** Queues a directive for the next step boundary (a duplicate sequence is skipped and reported). */
  enqueue(directive: SeedDirective): EnqueueOutcome {
    return this.queue.enqueue(directive);
  }

  /**
   * Applies the queued directives (a `DirectiveGapError` when a seed's sequence has a hole; nothing is
   * applied then), then runs one training step. Throws once every epoch has run.
   */
  async step(): Promise<StepOutcome> {
    if (this.done)
      throw new Error(`training '${this.options.trainingRunId}' is done: ${this.preset.epochs} epochs ran`);
    if (this.stepInEpoch === 0) {
      this.acc = {
        startedAt: performance.now(),
        lossSum: 0,
        gradNormSum: 0,
        correct: 0,
        samples: 0,
        steps: 0,
        stepMsSum: 0,
        directiveMsSum: 0,
        conflictRatioSum: 0,
        aggregatedSteps: 0,
      };
    }
    const prof = this.profiler;
    const stepStart = performance.now();
    const { applied, refused } = await this.applyDirectives();
    const directiveApplyMs = performance.now() - stepStart;
    prof.record("control", stepStart, directiveApplyMs);
    let t = performance.now();
    if (this.stepInEpoch === 0 || this.iterator === undefined) this.iterator = this.seekBatches();
    const next = this.iterator.next();
    if (!next || next.done) throw new Error(`epoch ${this.epochIndex}: the batch iterator ended early`);
    const batch = next.value;
    this.feedBlendAlphas();
    t = prof.since("data", t);
    const inputs: StepInputs = {
      x: batch.x,
      target: batch.y,
      batchSize: batch.size,
      alphas: this.registry.alphas,
      alphaVecs: this.alphaVecs,
    };
    const result = await this.runner.trainStep(inputs);
    t = prof.since("forwardBackward", t);
    this.steps++;
    this.stepInEpoch++;
    const seeds = this.registry.seeds();
    const aggregation = aggregateStep(
      result,
      seeds.map((entry) => ({ entry, alpha: this.alphaOf(entry) })),
      this.pcgradRng,
      this.options.pcgrad,
    );
    seeds.forEach((entry, i) => {
      const m = this.metaOf(entry.seed.seedId);
      m.stepsSinceReport++;
      m.lastGradientNorm = gradientNorm(result.grads, entry.params).norm;
      addToWindow(m.window, aggregation.seeds[i] as SeedStepMeasure);
    });
    t = prof.since("aggregation", t);
    let reports: SeedReport[] = [];
    if (this.steps % this.options.reportEverySteps === 0) {
      const reported: ReportedSeed[] = seeds.map((entry) => {
        const m = this.metaOf(entry.seed.seedId);
        return {
          entry,
          alpha: this.alphaOf(entry),
          steps: m.stepsSinceReport,
          window: windowMeans(m.window),
        };
      });
      reports = await measureSeedReports(this.runner, reported, inputs, result, {
        trainingRunId: this.options.trainingRunId,
        epoch: this.epochIndex,
        globalStep: this.steps,
        issuedAt: this.options.now(),
        timeline: this.restores,
      });
      for (const entry of seeds) {
        const m = this.metaOf(entry.seed.seedId);
        m.stepsSinceReport = 0;
        m.window = emptyWindow();
      }
      t = prof.since("control", t);
    }
    const norm = gradNorm(result.grads);
    this.registry.step(result.grads);
    t = prof.since("optimizer", t);
    this.track(result.loss, norm, batch, result.logits);
    const acc = this.acc;
    if (acc) {
      acc.stepMsSum += t - stepStart;
      acc.directiveMsSum += directiveApplyMs;
      if (aggregation.contributions >= 2) {
        acc.conflictRatioSum += aggregation.conflictRatio;
        acc.aggregatedSteps++;
      }
    }
    const epoch = this.epochIndex;
    const epochFinished = this.stepInEpoch === this.preset.stepsPerEpoch;
    if (epochFinished) this.finishEpoch();
    return {
      epoch,
      globalStep: this.steps,
      loss: result.loss,
      applied,
      refused,
      directiveApplyMs,
      reports,
      epochFinished,
    };
  }

  /** Loss and accuracy on the whole validation set, seeds wired as staged. */
  async validate(): Promise<ValidationResult> {
    const v = this.options.data.validation;
    const r = await this.runner.evaluate({
      x: v.x,
      target: v.y,
      batchSize: v.n,
      alphas: this.registry.alphas,
      alphaVecs: this.alphaVecs,
    });
    return { loss: r.loss, accuracy: argmaxAccuracy(r.logits, v.y, v.classes) };
  }

  /** Figures of the last finished epoch; throws before the first epoch has finished. */
  epochFigures(): EpochFigures {
    if (!this.lastFigures) throw new Error("no epoch has finished yet");
    return this.lastFigures;
  }

  /** One state per slot of the host layout: the live seed in it, or a DORMANT seed naming the slot. */
  slotStates(): SlotState[] {
    const lr = this.preset.optimizer.lr;
    const bySlot = new Map(this.registry.seeds().map((e) => [e.slotId, e]));
    return this.runner.layout.slots.map((slot) => {
      const layerDepth = this.preset.host.layers.findIndex(
        (l) => l.kind === "slot" && l.slotId === slot.slotId,
      );
      const entry = bySlot.get(slot.slotId);
      if (!entry) {
        return {
          slotId: slot.slotId,
          slotWidth: slot.width,
          layerDepth,
          seedId: seedIdOf(slot.slotId, this.generations.get(slot.slotId) ?? 0),
          stage: SeedLifecycleStage.DORMANT,
          alpha: 0,
          gradientNorm: 0,
          learningRate: lr,
          ageEpochs: 0,
        };
      }
      const m = this.metaOf(entry.seed.seedId);
      return {
        slotId: slot.slotId,
        slotWidth: slot.width,
        layerDepth,
        seedId: entry.seed.seedId,
        stage: entry.stage,
        alpha: this.alphaOf(entry),
        blueprintId: m.blueprintId,
        gradientNorm: m.lastGradientNorm,
        learningRate: lr,
        ageEpochs: this.epochIndex - m.graftEpoch,
      };
    });
  }

  /**
   * The SystemStatePacket of the last finished epoch, validated against the contract, with its assembly
   * time. `boundary` holds the previous epoch boundary's figures the training loop measured, `control`
   * the run's emergency level, breaker state and conservative mode.
   */
  statePacket(
    validation: ValidationResult,
    hardware: HardwareContext,
    boundary: BoundaryLatencies,
    control: RunControlState,
  ): AssembledPacket {
    const o = this.preset.optimizer;
    return assembleStatePacket({
      trainingRunId: this.options.trainingRunId,
      experimentName: this.preset.name,
      epochsTotal: this.preset.epochs,
      learningRate: this.learningRate,
      optimizer: { family: o.kind, momentum: o.kind === "sgd" ? o.momentum : ADAMW_DEFAULTS.beta1 },
      boundary,
      control,
      timeline: this.restores,
      parameterCount: this.parameterCount,
      figures: this.epochFigures(),
      validation,
      hardware,
      slots: this.slotStates(),
      timestampMs: this.options.now(),
    });
  }

  /** A copy of the trainer at this step boundary: parameters, optimizer state, seed set and wiring, progress. */
  snapshot(): TrainerSnapshot {
    const seeds: SnapshotSeed[] = this.registry.seeds().map((entry) => {
      const id = entry.seed.seedId;
      const m = this.metaOf(id);
      const artifact = this.kernels.get(id);
      if (!artifact) throw new Error(`seed '${id}' has no kernel bytes`);
      const vec = this.alphaVecs.get(entry.slotId);
      return {
        seedId: id,
        slotId: entry.slotId,
        stage: entry.stage,
        blend: entry.blend,
        gate: entry.gate,
        alpha: this.registry.alphas.get(entry.slotId),
        artifact,
        sha256: entry.seed.artifactSha256,
        blueprintId: m.blueprintId,
        graftEpoch: m.graftEpoch,
        schedule: m.schedule ? { ...m.schedule } : undefined,
        stepsSinceReport: m.stepsSinceReport,
        lastGradientNorm: m.lastGradientNorm,
        window: { ...m.window },
        alphaVector: vec ? vec.slice() : undefined,
      };
    });
    return {
      training: takeTrainingSnapshot(this.runner.store, this.optimizer),
      seeds,
      progress: {
        epochIndex: this.epochIndex,
        stepInEpoch: this.stepInEpoch,
        steps: this.steps,
        acc: this.acc ? { ...this.acc } : undefined,
        pcgradRng: this.pcgradRng.getState(),
        lossEwma: this.lossEwma,
        lossVariance: this.lossVariance,
        gradNormEwma: this.gradNormEwma,
        previousEpochLoss: this.previousEpochLoss,
        lastFigures: this.lastFigures,
        generations: [...this.generations],
      },
    };
  }

  /**
   * Puts the trainer back to `snap`: the snapshot's seeds live again with their stage, wiring and α,
   * parameters and optimizer state copied bit for bit into the live buffers (the snapshot is not
   * aliased: it can be restored again), progress reset. When the live seeds are the snapshot's (same
   * ids, slots, kernels, blend and gate, in graft order) they are kept and only restaged; otherwise the
   * live seeds are culled and the snapshot's grafted again. The data position is sought at the next
   * step. Queued directives and their sequences are kept (they are not rewound), and so are the slots'
   * graft counts: a seed id once used is never named again for a free slot. Each restore starts a new
   * timeline: the packets and reports of the steps trained again carry `timelineTag` ids.
   */
  restore(snap: TrainerSnapshot): void {
    const keep = sameGrafts(this.registry.seeds(), snap.seeds);
    if (!keep) for (const entry of this.registry.seeds()) this.registry.cull(entry.seed.seedId);
    this.meta.clear();
    this.kernels.clear();
    this.alphaVecs.clear();
    for (const s of snap.seeds) {
      if (keep) this.registry.setStage(s.seedId, s.stage);
      else {
        this.registry.graft({
          slotId: s.slotId,
          seedId: s.seedId,
          artifact: s.artifact,
          expectedSha256: s.sha256,
          blend: s.blend,
          ...(s.gate ? { gate: s.gate } : {}),
        });
        if (s.stage !== SeedLifecycleStage.GERMINATED) this.registry.setStage(s.seedId, s.stage);
      }
      if (s.alpha !== undefined) this.registry.setAlpha(s.seedId, s.alpha);
      if (s.alphaVector) this.alphaVecs.set(s.slotId, s.alphaVector.slice());
      this.kernels.set(s.seedId, s.artifact);
      this.meta.set(s.seedId, {
        blueprintId: s.blueprintId,
        graftEpoch: s.graftEpoch,
        schedule: s.schedule ? { ...s.schedule } : undefined,
        stepsSinceReport: s.stepsSinceReport,
        lastGradientNorm: s.lastGradientNorm,
        window: { ...s.window },
      });
    }
    restoreTrainingSnapshot(this.runner.store, this.optimizer, snap.training);
    const p = snap.progress;
    this.epochIndex = p.epochIndex;
    this.stepInEpoch = p.stepInEpoch;
    this.steps = p.steps;
    this.acc = p.acc ? { ...p.acc } : undefined;
    this.pcgradRng.setState(p.pcgradRng);
    this.lossEwma = p.lossEwma;
    this.lossVariance = p.lossVariance;
    this.gradNormEwma = p.gradNormEwma;
    this.previousEpochLoss = p.previousEpochLoss;
    this.lastFigures = p.lastFigures;
    for (const [slot, n] of p.generations)
      this.generations.set(slot, Math.max(n, this.generations.get(slot) ?? 0));
    this.restores++;
    this.iterator = undefined;
  }

  /**
   * Trains from here on with a fresh data order (the n-th reshuffle forks `reshuffle-<n>` from the
   * order's root stream), so an epoch trained again after a rollback does not replay the batches that
   * failed it. Only at an epoch's start.
   */
  reshuffle(): void {
    if (this.stepInEpoch !== 0)
      throw new Error(
        `reshuffle at step ${this.stepInEpoch} of epoch ${this.epochIndex}: only at an epoch's start`,
      );
    this.reshuffles++;
    this.batches = this.batchesOf(this.shuffleRoot.fork(`reshuffle-${this.reshuffles}`));
    this.iterator = undefined;
  }

  /** Releases the ONNX sessions. */
  async release(): Promise<void> {
    await this.runner.release();
  }

  /** The current epoch's batches, positioned after the `stepInEpoch` batches already trained. */
  private seekBatches(): IterableIterator<Batch<"int32">> {
    const iterator = this.batches.epoch(this.epochIndex);
    for (let i = 0; i < this.stepInEpoch; i++) {
      if (iterator.next().done)
        throw new Error(`epoch ${this.epochIndex}: the batch iterator ended before step ${this.stepInEpoch}`);
    }
    return iterator;
  }

  private batchesOf(shuffle: Rng): BatchIterator<"int32"> {
    return new BatchIterator(this.options.data.train, {
      batchSize: this.preset.batchSize,
      shuffle,
      lastBatch: "drop",
      labels: "int32",
    });
  }

  private metaOf(seedId: string): SeedMeta {
    const m = this.meta.get(seedId);
    if (!m) throw new Error(`seed '${seedId}' has no trainer record`);
    return m;
  }

  /** α the seed's slot runs with: 0 before BLENDING, the fed α while BLENDING, 1 once fully active. */
  private alphaOf(entry: SeedEntry): number {
    switch (entry.stage) {
      case SeedLifecycleStage.BLENDING: {
        const alpha = this.registry.alphas.get(entry.slotId);
        if (alpha === undefined) throw new Error(`seed '${entry.seed.seedId}' is BLENDING without α`);
        return alpha;
      }
      case SeedLifecycleStage.SHADOWING:
      case SeedLifecycleStage.PROBATIONARY:
      case SeedLifecycleStage.FOSSILIZED:
        return 1;
      default:
        return 0;
    }
  }

  private feedBlendAlphas(): void {
    for (const entry of this.registry.seeds()) {
      const m = this.metaOf(entry.seed.seedId);
      if (entry.stage !== SeedLifecycleStage.BLENDING || !m.schedule) continue;
      m.schedule.step++;
      this.registry.setAlpha(entry.seed.seedId, scheduledAlpha(m.schedule.spec, m.schedule.step));
    }
  }

  private track(loss: number, norm: number, batch: Batch<"int32">, logits: Float32Array): void {
    const acc = this.acc;
    if (!acc) throw new Error("no epoch in progress");
    acc.lossSum += loss;
    acc.gradNormSum += norm;
    acc.correct += argmaxAccuracy(logits, batch.y, this.options.data.train.classes) * batch.size;
    acc.samples += batch.size;
    acc.steps++;
    if (this.lossEwma === undefined) this.lossEwma = loss;
    else {
      const d = loss - this.lossEwma;
      this.lossEwma += EWMA_WEIGHT * d;
      this.lossVariance = (1 - EWMA_WEIGHT) * (this.lossVariance + EWMA_WEIGHT * d * d);
    }
    this.gradNormEwma =
      this.gradNormEwma === undefined ? norm : this.gradNormEwma + EWMA_WEIGHT * (norm - this.gradNormEwma);
  }

  private finishEpoch(): void {
    const acc = this.acc;
    if (!acc || this.lossEwma === undefined || this.gradNormEwma === undefined)
      throw new Error("no epoch in progress");
    const loss = acc.lossSum / acc.steps;
    this.lastFigures = {
      epoch: this.epochIndex,
      globalStep: this.steps,
      loss,
      accuracy: acc.correct / acc.samples,
      gradientNorm: acc.gradNormSum / acc.steps,
      lossDelta: this.previousEpochLoss === undefined ? 0 : loss - this.previousEpochLoss,
      lossEwma: this.lossEwma,
      lossVolatility: Math.sqrt(this.lossVariance),
      gradNormEwma: this.gradNormEwma,
      samples: acc.samples,
      durationMs: performance.now() - acc.startedAt,
      stepLatencyMs: acc.stepMsSum / acc.steps,
      kasminaLatencyMs: acc.directiveMsSum,
      gradConflictRate: acc.aggregatedSteps > 0 ? acc.conflictRatioSum / acc.aggregatedSteps : 0,
    };
    this.previousEpochLoss = loss;
    this.epochIndex++;
    this.stepInEpoch = 0;
    this.iterator = undefined;
    this.acc = undefined;
  }

  private async applyDirectives(): Promise<{ applied: SeedDirective[]; refused: RefusedDirective[] }> {
    const ready = this.queue.takeReady();
    const applied: SeedDirective[] = [];
    const refused: RefusedDirective[] = [];
    for (const d of ready) {
      try {
        await this.apply(d);
        applied.push(d);
      } catch (e) {
        refused.push({ directive: d, error: e instanceof Error ? e : new Error(String(e)) });
      }
    }
    return { applied, refused };
  }

  private async apply(d: SeedDirective): Promise<void> {
    const refuse = (reason: string): never => {
      throw new DirectiveRefusedError(d, reason);
    };
    if (d.learningRate !== undefined) refuse("a per-seed learningRate is not supported yet");
    if (d.includeTeacher) refuse("includeTeacher is not supported yet");
    if (d.action === "remove") {
      const entry = this.liveEntry(d, refuse);
      this.registry.cull(d.seedId);
      this.kernels.delete(d.seedId);
      this.meta.delete(d.seedId);
      this.alphaVecs.delete(entry.slotId);
      return;
    }
    if (!SEED_STAGES.has(d.stage))
      refuse(`stage ${d.stage} is not a stage of a live seed (GERMINATED … FOSSILIZED)`);
    if (d.stage === SeedLifecycleStage.BLENDING && d.schedule) {
      try {
        scheduledAlpha(d.schedule, 1);
      } catch (e) {
        refuse((e as Error).message);
      }
    }
    let mode: ReturnType<typeof blendModeOf> = "residual";
    try {
      mode = blendModeOf(d.blendMode);
    } catch (e) {
      refuse((e as Error).message);
    }
    const slot = this.runner.layout.slots.find((s) => s.slotId === d.slotId);
    if (!slot) refuse(`slot '${d.slotId}' is not a slot of the host`);
    if (mode === "channel" && d.alphaVector?.length !== slot?.width)
      refuse(`the CHANNEL blend needs an alphaVector of the slot's ${slot?.width} values`);
    if (mode === "confidence" && !d.confidence) refuse("the CONFIDENCE blend needs confidence parameters");
    if (d.action === "graft") {
      if (!d.kernel) return refuse("a graft needs its kernel reference");
      const bytes = await this.options.fetchKernel(d.kernel);
      const actual = createHash("sha256").update(bytes).digest("hex");
      if (actual !== d.kernel.checksum)
        throw new KernelChecksumError(d.seedId, d.kernel.artifactRef, d.kernel.checksum, actual);
      this.registry.graft({
        slotId: d.slotId,
        seedId: d.seedId,
        artifact: bytes,
        expectedSha256: d.kernel.checksum,
        blend: mode,
        ...(d.confidence ? { gate: confidenceGateOf(d.confidence) } : {}),
      });
      this.kernels.set(d.seedId, bytes);
      this.generations.set(d.slotId, (this.generations.get(d.slotId) ?? 0) + 1);
      this.meta.set(d.seedId, {
        blueprintId: d.kernel.blueprintId,
        graftEpoch: this.epochIndex,
        schedule: undefined,
        stepsSinceReport: 0,
        lastGradientNorm: 0,
        window: emptyWindow(),
      });
    } else {
      const entry = this.liveEntry(d, refuse);
      if (entry.blend !== mode)
        refuse(`seed blends '${entry.blend}'; changing it to '${mode}' needs a new graft`);
    }
    this.stageAndAlpha(d);
  }

  /** The live seed a directive names, in the slot it names. */
  private liveEntry(d: SeedDirective, refuse: (reason: string) => never): SeedEntry {
    const entry = this.registry.seeds().find((e) => e.seed.seedId === d.seedId);
    if (!entry) return refuse(`seed '${d.seedId}' is not grafted`);
    if (entry.slotId !== d.slotId)
      refuse(`seed '${d.seedId}' is in slot '${entry.slotId}', not '${d.slotId}'`);
    return entry;
  }

  /** Moves a live seed to the directive's stage (when it differs) and sets its α or blend schedule. */
  private stageAndAlpha(d: SeedDirective): void {
    const entry = this.registry.get(d.seedId);
    const m = this.metaOf(d.seedId);
    if (entry.stage !== d.stage) {
      this.registry.setStage(d.seedId, d.stage);
      m.stepsSinceReport = 0;
      m.window = emptyWindow();
    }
    m.schedule = undefined;
    if (d.alphaVector) this.alphaVecs.set(d.slotId, d.alphaVector);
    if (d.stage !== SeedLifecycleStage.BLENDING) return;
    if (d.schedule) m.schedule = { spec: d.schedule, step: 0 };
    else this.registry.setAlpha(d.seedId, d.alpha);
  }
}

function addToWindow(w: SeedWindow, s: SeedStepMeasure): void {
  w.interfaceGradientNorm += s.interfaceGradientNorm;
  w.gradientShare += s.gradientShare;
  w.gradientCosine += s.gradientCosine;
  w.conflicts += s.conflicts;
  w.conflictRatio += s.conflictRatio;
  w.steps++;
}

function windowMeans(w: SeedWindow): WindowMeasures {
  if (w.steps === 0) throw new Error("a seed report needs at least one step in its window");
  return {
    interfaceGradientNorm: w.interfaceGradientNorm / w.steps,
    gradientShare: w.gradientShare / w.steps,
    gradientCosine: w.gradientCosine / w.steps,
    conflicts: w.conflicts,
    conflictRatio: w.conflictRatio / w.steps,
  };
}

/**
 * Whether the live seeds are the snapshot's grafts: same seed ids in the same slots and graft order,
 * same kernel (sha256), blend and gate. Stage and α are set by the restore either way.
 */
function sameGrafts(live: readonly SeedEntry[], snap: readonly SnapshotSeed[]): boolean {
  return (
    live.length === snap.length &&
    live.every((e, i) => {
      const s = snap[i];
      return (
        s !== undefined &&
        e.seed.seedId === s.seedId &&
        e.slotId === s.slotId &&
        e.seed.artifactSha256 === s.sha256 &&
        e.blend === s.blend &&
        sameGate(e.gate, s.gate)
      );
    })
  );
}

function sameGate(a: ConfidenceGate | undefined, b: ConfidenceGate | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.sharpness === b.sharpness && a.tau === b.tau && a.lo === b.lo && a.hi === b.hi;
}
