import {
  CommandType,
  SeedLifecycleStage as S,
  SeedOperation,
  TelemetryLevel,
} from "../../contracts/enums.ts";
import type {
  AdaptationCommand,
  BlendScheduleSpec,
  CommandSeedOperation,
  ConfidenceGate,
} from "../../contracts/messages/command.ts";
import type { BlueprintDescriptor, KernelPrefetchResult } from "../../contracts/messages/kernel.ts";
import {
  FIRST_DIRECTIVE_SEQUENCE,
  type KernelRef,
  type SeedDirective,
  type SeedReport,
} from "../../contracts/messages/seed.ts";
import type { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import { seedIdOf } from "../../contracts/seed-ids.ts";
import { type BlendStats, blendStats, validateBlend } from "./blending.ts";
import type {
  CommandRejection,
  ControllerEffect,
  ControllerOutput,
  RejectionReason,
  TimelineEntry,
} from "./controller-effects.ts";
import {
  DuplicateSeedError,
  EmbargoActiveError,
  IllegalSeedTransitionError,
  InvalidSnapshotError,
  SlotOccupiedError,
  UnknownSlotError,
} from "./errors.ts";
import {
  advanceTarget,
  checkGateSettings,
  criticalGates,
  type GateVerdict,
  gateNames,
  isJudgedStage,
  judgeReports,
  type KernelEvidence,
  resetGate,
  sanityGate,
} from "./gates.ts";
import type { Clock, SeedLifecycle } from "./lifecycle.ts";
import { type SlotSnapshot, SlotTable } from "./slot-table.ts";
import { type SeedStage, stageName } from "./stages.ts";

/**
 * A slot of the host and the id of its first seed (the command names the seed; the seed names its
 * slot). After a grafted seed of the slot is culled, the slot offers `seedIdOf(slotId, generation)`.
 */
export interface SlotSeed {
  readonly slotId: string;
  readonly seedId: string;
  /** The width of the activation at the slot: a kernel must map it to itself, an α vector has one entry per channel. */
  readonly width: number;
}

/** What the controller needs; ids and time are injected so that a run replays exactly. */
export interface SeedControllerOptions {
  readonly trainingRunId: string;
  /** The host's slots, each with its seed id; ids are unique. */
  readonly slots: readonly SlotSeed[];
  /** Settings `seeds.embargoMs`: how long a culled seed's slot refuses germination. */
  readonly embargoMs: number;
  /** Thresholds of the report gates (settings `gates`); the blend length comes from each seed's command. */
  readonly gates: Readonly<WorkerSettings["gates"]>;
  /** The tanh temperature of the α schedule (settings `seeds.blendTemperature`, reference 2). */
  readonly blendTemperature: number;
  readonly clock: Clock;
  /** A fresh unique id (prefetch request ids). */
  readonly newId: () => string;
}

/** How a germinated seed is blended, taken from its GERMINATE command. */
export interface SeedPlan {
  readonly commandId: string;
  readonly blueprintId: string;
  readonly blendMode: NonNullable<CommandSeedOperation["blendMode"]>;
  readonly schedule: BlendScheduleSpec;
  readonly alphaVector?: CommandSeedOperation["alphaVector"] | undefined;
  readonly confidence?: ConfidenceGate | undefined;
  readonly includeTeacher: boolean;
}

/** The controller's bookkeeping for one seed id, as plain data. */
export interface SeedRecord {
  readonly seedId: string;
  readonly slotId: string;
  /** Seeds grafted into the slot before this one (`contracts/seed-ids.ts`); 0 for the slot's first seed. */
  readonly generation: number;
  /** The sequence of the next directive for this seed (from FIRST_DIRECTIVE_SEQUENCE); it never restarts. */
  nextSequence: number;
  plan?: SeedPlan | undefined;
  pendingPrefetch?: { readonly requestId: string; readonly blueprintId: string } | undefined;
  kernel?: KernelRef | undefined;
  /** The reports of the current stage, oldest first. */
  reports: SeedReport[];
}

/** What the per-seed telemetry packet shows of one seed (see `SeedController.seedViews`). */
export interface SeedView {
  readonly seedId: string;
  readonly slotId: string;
  readonly stage: SeedStage;
  readonly alpha: number;
  readonly blend?: BlendStats;
  readonly kernelAttached: boolean;
  readonly reports: number;
  readonly lastReport?: SeedReport;
  readonly embargoUntilMs?: number;
}

/** The whole controller state as plain data (structured-clonable), for a restart without loss. */
export interface SeedControllerSnapshot {
  readonly trainingRunId: string;
  readonly slots: readonly SlotSnapshot[];
  readonly seeds: readonly SeedRecord[];
  readonly timeline: readonly TimelineEntry[];
}

class Rejected extends Error {
  constructor(
    readonly reason: RejectionReason,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/**
 * Kasmina's decisions for one training run, as data. It owns the SlotTable (one SeedLifecycle per
 * seed) and turns each input (a verified command, a prefetch result or timeout, a seed report) into
 * effects for main.ts: directives for Tolaria, prefetch requests for Urza, telemetry events. A command
 * that cannot be applied is rejected with a reason and changes nothing; a transition the lifecycle
 * table does not allow is never clamped. Every stage change is kept in the timeline.
 */
export class SeedController {
  private readonly options: SeedControllerOptions;
  private slots: SlotTable;
  private readonly records = new Map<string, SeedRecord>();
  private readonly entries: TimelineEntry[] = [];
  private readonly windowLimit: number;

  constructor(options: SeedControllerOptions) {
    checkGateSettings(options.gates);
    if (!Number.isFinite(options.blendTemperature) || options.blendTemperature <= 0) {
      throw new RangeError(`blendTemperature must be a finite number > 0, got ${options.blendTemperature}`);
    }
    this.options = options;
    this.slots = new SlotTable({
      slotIds: options.slots.map((s) => s.slotId),
      embargoMs: options.embargoMs,
      clock: options.clock,
    });
    for (const { slotId, seedId, width } of options.slots) {
      if (!Number.isSafeInteger(width) || width < 1)
        throw new RangeError(`slot ${slotId} has width ${width}: it must be an integer >= 1`);
      if (this.records.has(seedId)) throw new RangeError(`slots name seed ${seedId} twice`);
      this.records.set(seedId, {
        seedId,
        slotId,
        generation: 0,
        nextSequence: FIRST_DIRECTIVE_SEQUENCE,
        reports: [],
      });
    }
    const { trainingReports, shadowingReports, probationReports, harmReports } = options.gates;
    this.windowLimit = Math.max(trainingReports, shadowingReports, probationReports, harmReports);
  }

  /** A controller in the state of `snapshot` (deep-copied), for the same run and slot layout. */
  static restore(options: SeedControllerOptions, snapshot: SeedControllerSnapshot): SeedController {
    const controller = new SeedController(options);
    if (snapshot.trainingRunId !== options.trainingRunId) {
      throw new InvalidSnapshotError(
        "trainingRunId",
        `is ${snapshot.trainingRunId}, this controller runs ${options.trainingRunId}`,
      );
    }
    const copy = structuredClone(snapshot);
    const layout = (seeds: readonly Pick<SlotSeed, "slotId" | "seedId">[]) =>
      seeds.map((s) => `${s.slotId}:${s.seedId}`).join(", ");
    const first = new Map(options.slots.map((s) => [s.slotId, s.seedId]));
    const expected = copy.seeds.map((r) => ({
      slotId: r.slotId,
      seedId: r.generation === 0 ? (first.get(r.slotId) ?? "") : seedIdOf(r.slotId, r.generation),
    }));
    if (
      layout(copy.seeds) !== layout(expected) ||
      copy.seeds.map((r) => r.slotId).join() !== options.slots.map((s) => s.slotId).join()
    ) {
      throw new InvalidSnapshotError(
        "seeds",
        `lay out [${layout(copy.seeds)}], the host has [${layout(options.slots)}]`,
      );
    }
    controller.slots = SlotTable.restore(
      { slotIds: options.slots.map((s) => s.slotId), embargoMs: options.embargoMs, clock: options.clock },
      copy.slots,
    );
    controller.records.clear();
    for (const record of copy.seeds) controller.records.set(record.seedId, record);
    controller.entries.push(...copy.timeline);
    return controller;
  }

  /** The whole state as plain data (a deep copy). */
  snapshot(): SeedControllerSnapshot {
    return structuredClone({
      trainingRunId: this.options.trainingRunId,
      slots: this.slots.snapshot(),
      seeds: [...this.records.values()],
      timeline: this.entries,
    });
  }

  /** Every stage change so far, oldest first. */
  get timeline(): readonly TimelineEntry[] {
    return this.entries;
  }

  /**
   * The stage of a seed: a slot's offered seed (DORMANT before its germination) or a retired seed still
   * in its slot (EMBARGOED after its cull); throws RangeError for any other id.
   */
  stageOf(seedId: string): SeedStage {
    const record = this.records.get(seedId);
    if (record !== undefined) return this.slots.seedAt(record.slotId)?.stage ?? S.DORMANT;
    try {
      return this.slots.find(seedId).seed.stage;
    } catch {
      throw new RangeError(`seed ${seedId} is not a seed of this host`);
    }
  }

  /**
   * Applies a verified command: SEED / GERMINATE germinates the target seed and requests its kernel;
   * SEED / CULL culls it. Anything else, or a command that does not fit the seed's state, is rejected.
   */
  command(command: AdaptationCommand): ControllerOutput {
    const effects: ControllerEffect[] = [];
    try {
      if (command.trainingRunId !== this.options.trainingRunId) {
        throw new Rejected(
          "wrong_training_run",
          `command is for run ${command.trainingRunId}, this controller runs ${this.options.trainingRunId}`,
        );
      }
      const { payload } = command;
      if (command.commandType !== CommandType.SEED || payload.kind !== "seed") {
        throw new Rejected(
          "unsupported_command",
          `command type ${command.commandType} is not handled by Kasmina`,
        );
      }
      const record = this.recordOf(command.targetSeedId);
      if (payload.operation === SeedOperation.GERMINATE) this.germinate(command, payload, record, effects);
      else if (payload.operation === SeedOperation.CULL) this.cullByCommand(command, record, effects);
      else throw new Rejected("unsupported_command", `seed operation ${payload.operation} is not handled`);
      return { effects };
    } catch (error) {
      if (!(error instanceof Rejected)) throw error;
      const rejection: CommandRejection = {
        commandId: command.commandId,
        reason: error.reason,
        detail: error.detail,
      };
      return { effects: [rejectionEvent(rejection)], rejection };
    }
  }

  /**
   * Urza's answer to a prefetch, judged by G0 with the catalog's `descriptor` of the blueprint asked for
   * (undefined: the catalog has none): a kernel that passes is grafted in TRAINING; any failure culls the
   * seed (no fallback kernel, no directive).
   */
  prefetchResult(
    result: KernelPrefetchResult,
    descriptor: BlueprintDescriptor | undefined,
  ): ControllerOutput {
    const record = this.pendingFor(result.requestId);
    if (record?.pendingPrefetch === undefined) {
      return {
        effects: [unexpectedPrefetch(result.requestId, `${result.status} for ${result.blueprintId}`)],
      };
    }
    return this.judgeKernel(record, { answer: result, descriptor });
  }

  /** No answer from Urza before the deadline: G0 fails and the seed is culled (no fallback kernel). */
  prefetchTimedOut(requestId: string): ControllerOutput {
    const record = this.pendingFor(requestId);
    if (record === undefined) return { effects: [unexpectedPrefetch(requestId, "timeout")] };
    return this.judgeKernel(record, { answer: { status: "timeout", requestId }, descriptor: undefined });
  }

  /**
   * One view per seed a slot holds or offers, for the per-seed telemetry: stage, the α directed now
   * (0 before BLENDING, the last reported α in BLENDING or the schedule's start before one, the
   * schedule's end from SHADOWING on), the blend's statistics at that α, whether a kernel is attached,
   * the reports of the current stage and the latest one.
   */
  seedViews(): SeedView[] {
    return [...this.records.values()].map((record) => {
      const seed = this.slots.seedAt(record.slotId);
      const stage = seed?.stage ?? S.DORMANT;
      const plan = record.plan;
      const last = record.reports.at(-1);
      let alpha = 0;
      if (plan !== undefined && stage === S.BLENDING) alpha = last?.alpha ?? plan.schedule.start;
      else if (
        plan !== undefined &&
        (stage === S.SHADOWING || stage === S.PROBATIONARY || stage === S.FOSSILIZED)
      )
        alpha = plan.schedule.end;
      const live = plan !== undefined && stage !== S.CULLED && stage !== S.EMBARGOED && stage !== S.DORMANT;
      return {
        seedId: seed?.seedId ?? record.seedId,
        slotId: record.slotId,
        stage,
        alpha,
        ...(live ? { blend: blendStats(plan, alpha, this.widthOf(record.slotId)) } : {}),
        kernelAttached: record.kernel !== undefined,
        reports: record.reports.length,
        ...(last !== undefined ? { lastReport: last } : {}),
        ...(seed?.embargoUntilMs !== undefined ? { embargoUntilMs: seed.embargoUntilMs } : {}),
      };
    });
  }

  /** The slot width of `slotId`. */
  widthOf(slotId: string): number {
    const slot = this.options.slots.find((s) => s.slotId === slotId);
    if (slot === undefined) throw new RangeError(`slot ${slotId} is not a slot of this host`);
    return slot.width;
  }

  private judgeKernel(
    record: SeedRecord,
    evidence: Pick<KernelEvidence, "answer" | "descriptor">,
  ): ControllerOutput {
    const effects: ControllerEffect[] = [];
    const pending = record.pendingPrefetch;
    if (pending === undefined) throw new Error(`seed ${record.seedId} awaits no kernel`);
    const seed = this.liveSeed(record);
    delete record.pendingPrefetch;
    const verdict = sanityGate({
      ...evidence,
      blueprintId: pending.blueprintId,
      slotWidth: this.widthOf(record.slotId),
    });
    const answer = evidence.answer;
    if (!verdict.passed || answer.status !== "ready") {
      this.failGate(record, seed, verdict, effects);
      return { effects };
    }
    const kernel: KernelRef = {
      blueprintId: pending.blueprintId,
      artifactRef: answer.artifactRef,
      checksum: answer.checksum,
    };
    record.kernel = kernel;
    this.move(record, seed, S.TRAINING, `G0 ${gateNames.G0}: ${verdict.reason}`, effects);
    this.direct(record, "graft", S.TRAINING, 0, effects, { kernel });
    return { effects };
  }

  /** A gate failed: CRITICAL (G0, G1) or WARNING `kasmina.seed.gate_failure` naming gate and reason, then the cull and embargo. */
  private failGate(
    record: SeedRecord,
    seed: SeedLifecycle,
    verdict: GateVerdict,
    effects: ControllerEffect[],
  ): void {
    effects.push(
      event(
        criticalGates.has(verdict.gate) ? TelemetryLevel.CRITICAL : TelemetryLevel.WARNING,
        "kasmina.seed.gate_failure",
        {
          seedId: record.seedId,
          slotId: record.slotId,
          gate: verdict.gate,
          gateName: gateNames[verdict.gate],
          reason: verdict.reason,
          ...(record.plan !== undefined ? { blueprintId: record.plan.blueprintId } : {}),
        },
      ),
    );
    this.cull(record, seed, `${verdict.gate} ${gateNames[verdict.gate]} failed: ${verdict.reason}`, effects);
  }

  /**
   * The administrative reset (`commandId` names the command that asked for it): every live seed is
   * culled (a `remove` directive for a grafted one, which retires it as a cull does), then every slot
   * is emptied of its seed, its embargo with it, and every seed record forgets its plan, kernel and
   * reports. FOSSILIZED and TERMINATED seeds stay: they are part of the host. Generations and directive
   * sequences continue, so Tolaria sees no seed id or sequence twice. The timeline keeps its history.
   */
  reset(commandId: string): ControllerOutput {
    const effects: ControllerEffect[] = [];
    let culled = 0;
    for (const record of [...this.records.values()]) {
      const seed = this.slots.seedAt(record.slotId);
      if (seed === undefined || !seed.can(S.CULLED)) continue;
      delete record.pendingPrefetch;
      this.cull(record, seed, `command ${commandId}: administrative reset`, effects, commandId);
      culled++;
    }
    const kept = (slot: SlotSnapshot) =>
      slot.seed?.stage === S.FOSSILIZED || slot.seed?.stage === S.TERMINATED;
    const slots = this.slots.snapshot().map((slot) => (kept(slot) ? slot : { slotId: slot.slotId }));
    this.slots = SlotTable.restore(
      {
        slotIds: this.options.slots.map((s) => s.slotId),
        embargoMs: this.options.embargoMs,
        clock: this.options.clock,
      },
      slots,
    );
    for (const slot of slots) {
      if (slot.seed !== undefined) continue;
      const record = [...this.records.values()].find((r) => r.slotId === slot.slotId);
      if (record === undefined) throw new Error(`slot ${slot.slotId} has no seed record`);
      delete record.plan;
      delete record.pendingPrefetch;
      delete record.kernel;
      record.reports = [];
    }
    effects.push(
      event(TelemetryLevel.WARNING, "kasmina.run.reset", {
        commandId,
        culled: String(culled),
        seeds: [...this.records.keys()].join(","),
      }),
    );
    return { effects };
  }

  /**
   * A seed report: counted in the seed's window for its current stage and judged by `judgeReports` (G1, then the stage gate);
   * an advance sends an `update` directive, a cull a `remove` directive and the embargo. A report of
   * another run or an unknown seed is an ERROR event; one of an earlier stage an INFO event.
   */
  report(report: SeedReport): ControllerOutput {
    const effects: ControllerEffect[] = [];
    const refuse = (reason: string, detail: string): ControllerOutput => ({
      effects: [
        event(TelemetryLevel.ERROR, "kasmina.report.rejected", {
          reportId: report.reportId,
          seedId: report.seedId,
          reason,
          detail,
        }),
      ],
    });
    if (report.trainingRunId !== this.options.trainingRunId) {
      return refuse("wrong_training_run", `report is for run ${report.trainingRunId}`);
    }
    const record = this.records.get(report.seedId);
    if (record === undefined)
      return refuse("unknown_seed", `seed ${report.seedId} is not a seed of this host`);
    const seed = this.slots.seedAt(record.slotId);
    const stage = seed?.stage ?? S.DORMANT;
    if (seed === undefined || !isJudgedStage(stage) || report.stage !== stage || record.plan === undefined) {
      return {
        effects: [
          event(TelemetryLevel.INFO, "kasmina.report.stale", {
            reportId: report.reportId,
            seedId: report.seedId,
            reportStage: stageName(report.stage),
            seedStage: stageName(stage),
          }),
        ],
      };
    }
    record.reports.push(report);
    if (stage !== S.BLENDING && record.reports.length > this.windowLimit) {
      record.reports.splice(0, record.reports.length - this.windowLimit);
    }
    const { schedule: planned } = record.plan;
    const blend = { totalSteps: planned.steps, temperature: this.options.blendTemperature };
    const verdict = judgeReports(
      {
        seedId: record.seedId,
        stage,
        reports: record.reports,
        alphaRange: [planned.start, planned.end],
      },
      { ...this.options.gates, blend },
    );
    const reason = `${verdict.gate} ${gateNames[verdict.gate]}: ${verdict.reason}`;
    if (verdict.decision === "cull")
      this.failGate(record, seed, { gate: verdict.gate, passed: false, reason: verdict.reason }, effects);
    if (verdict.decision === "advance") {
      const to = advanceTarget[stage];
      const { schedule } = record.plan;
      this.move(record, seed, to, reason, effects);
      if (to === S.BLENDING) this.direct(record, "update", to, schedule.start, effects, { schedule });
      else this.direct(record, "update", to, schedule.end, effects);
    }
    return { effects };
  }

  private germinate(
    command: AdaptationCommand,
    op: CommandSeedOperation,
    record: SeedRecord,
    effects: ControllerEffect[],
  ): void {
    const plan = planOf(command, op);
    const blendRefusal = validateBlend(op, this.widthOf(record.slotId));
    if (blendRefusal !== undefined) throw new Rejected(blendRefusal.reason, blendRefusal.detail);
    if (record.pendingPrefetch !== undefined) {
      throw new Rejected(
        "seed_in_flight",
        `seed ${record.seedId} awaits kernel request ${record.pendingPrefetch.requestId}`,
      );
    }
    const previous = this.slots.seedAt(record.slotId);
    if (previous?.stage === S.EMBARGOED) {
      const until = previous.embargoUntilMs;
      const nowMs = this.options.clock();
      if (until !== undefined && previous.embargoActive(nowMs)) {
        const refusal = new EmbargoActiveError(
          `slot ${record.slotId}`,
          `germinating seed ${record.seedId}`,
          until,
          nowMs,
        );
        throw new Rejected("slot_embargoed", refusal.message);
      }
      this.move(record, previous, S.RESETTING, `embargo ended at ${until}`, effects);
      const reset = resetGate({
        kernelAttached: record.kernel !== undefined,
        prefetchPending: record.pendingPrefetch !== undefined,
        embargoUntilMs: until,
        nowMs,
      });
      if (!reset.passed)
        throw new Rejected("reset_gate_failed", `G5 ${gateNames.G5} failed: ${reset.reason}`);
      this.move(record, previous, S.DORMANT, `G5 ${gateNames.G5}: ${reset.reason}`, effects);
    }
    if (previous !== undefined && previous.stage !== S.DORMANT) {
      const illegal = new IllegalSeedTransitionError(record.seedId, previous.stage, S.GERMINATED);
      throw new Rejected("illegal_transition", illegal.message);
    }
    const seed = this.germinateSlot(
      record,
      `command ${command.commandId}: germinate blueprint ${plan.blueprintId}`,
    );
    this.record(record.seedId, seed, effects);
    record.plan = plan;
    record.reports = [];
    delete record.kernel;
    const requestId = this.options.newId();
    record.pendingPrefetch = { requestId, blueprintId: plan.blueprintId };
    effects.push({
      kind: "prefetch",
      seedId: record.seedId,
      request: {
        requestId,
        blueprintId: plan.blueprintId,
        trainingRunId: this.options.trainingRunId,
        issuedAt: this.options.clock(),
      },
    });
  }

  private germinateSlot(record: SeedRecord, reason: string): SeedLifecycle {
    try {
      return this.slots.germinate(record.slotId, record.seedId, reason);
    } catch (error) {
      if (error instanceof UnknownSlotError) throw new Rejected("unknown_slot", error.message);
      if (error instanceof EmbargoActiveError) throw new Rejected("slot_embargoed", error.message);
      if (error instanceof SlotOccupiedError || error instanceof DuplicateSeedError) {
        throw new Rejected("seed_in_flight", error.message);
      }
      throw error;
    }
  }

  private cullByCommand(command: AdaptationCommand, record: SeedRecord, effects: ControllerEffect[]): void {
    const seed = this.slots.seedAt(record.slotId);
    const stage = seed?.stage ?? S.DORMANT;
    if (seed === undefined || !seed.can(S.CULLED)) {
      const illegal = new IllegalSeedTransitionError(record.seedId, stage, S.CULLED);
      throw new Rejected("illegal_transition", illegal.message);
    }
    delete record.pendingPrefetch;
    this.cull(record, seed, `command ${command.commandId}: cull`, effects, command.commandId);
  }

  /**
   * CULLED (with a `remove` directive if Tolaria holds the kernel), then EMBARGOED. A culled seed that
   * was grafted retires: its slot offers the next generation's seed id (`seedIdOf`), as Tolaria names it.
   */
  private cull(
    record: SeedRecord,
    seed: SeedLifecycle,
    reason: string,
    effects: ControllerEffect[],
    commandId?: string,
  ): void {
    const grafted = record.kernel !== undefined;
    this.move(record, seed, S.CULLED, reason, effects);
    if (grafted)
      this.direct(record, "remove", S.CULLED, 0, effects, commandId === undefined ? {} : { commandId });
    this.move(record, seed, S.EMBARGOED, `embargo of ${this.options.embargoMs} ms after cull`, effects);
    delete record.kernel;
    record.reports = [];
    effects.push(
      event(TelemetryLevel.WARNING, "kasmina.seed.culled", {
        seedId: record.seedId,
        slotId: record.slotId,
        reason,
        embargoUntilMs: String(seed.embargoUntilMs),
      }),
    );
    if (grafted) this.nextGeneration(record);
  }

  /** Retires a grafted seed's record; its slot offers the next generation's id, its directives start afresh. */
  private nextGeneration(record: SeedRecord): void {
    const generation = record.generation + 1;
    const seedId = seedIdOf(record.slotId, generation);
    if (this.records.has(seedId)) throw new Error(`seed ${seedId} already has a record`);
    const next: SeedRecord = {
      seedId,
      slotId: record.slotId,
      generation,
      nextSequence: FIRST_DIRECTIVE_SEQUENCE,
      reports: [],
    };
    const entries = [...this.records.values()].map((r) => (r === record ? next : r));
    this.records.clear();
    for (const r of entries) this.records.set(r.seedId, r);
  }

  private move(
    record: SeedRecord,
    seed: SeedLifecycle,
    to: SeedStage,
    reason: string,
    effects: ControllerEffect[],
  ): void {
    seed.transition(to, reason);
    record.reports = [];
    this.record(seed.seedId, seed, effects);
  }

  /** Adds the seed's latest transition to the timeline and as an INFO event. */
  private record(seedId: string, seed: SeedLifecycle, effects: ControllerEffect[]): void {
    const last = seed.history.at(-1);
    if (last === undefined) throw new Error(`seed ${seedId} has no transition to record`);
    const entry: TimelineEntry = { seedId, ...last };
    this.entries.push(entry);
    effects.push(
      event(TelemetryLevel.INFO, "kasmina.seed.transition", {
        seedId,
        from: stageName(entry.from),
        to: stageName(entry.to),
        reason: entry.reason,
        atMs: String(entry.atMs),
      }),
    );
  }

  private direct(
    record: SeedRecord,
    action: SeedDirective["action"],
    stage: SeedStage,
    alpha: number,
    effects: ControllerEffect[],
    extra: { kernel?: KernelRef; schedule?: BlendScheduleSpec; commandId?: string } = {},
  ): void {
    const plan = record.plan;
    if (plan === undefined) throw new Error(`seed ${record.seedId} has no plan: it was never germinated`);
    const sequence = record.nextSequence++;
    const directive: SeedDirective = {
      directiveId: directiveIdOf(this.options.trainingRunId, record.seedId, sequence),
      trainingRunId: this.options.trainingRunId,
      seedId: record.seedId,
      slotId: record.slotId,
      sequence,
      action,
      stage,
      ...(extra.kernel !== undefined ? { kernel: extra.kernel } : {}),
      blendMode: plan.blendMode,
      alpha,
      ...(action !== "remove" && plan.alphaVector !== undefined ? { alphaVector: plan.alphaVector } : {}),
      ...(extra.schedule !== undefined ? { schedule: extra.schedule } : {}),
      ...(action !== "remove" && plan.confidence !== undefined ? { confidence: plan.confidence } : {}),
      includeTeacher: plan.includeTeacher,
      commandId: extra.commandId ?? plan.commandId,
      issuedAt: this.options.clock(),
    };
    effects.push({ kind: "directive", directive });
  }

  private recordOf(seedId: string | undefined): SeedRecord {
    if (seedId === undefined)
      throw new Rejected("missing_field", "targetSeedId is required for SEED commands");
    const record = this.records.get(seedId);
    if (record === undefined)
      throw new Rejected("unknown_seed", `seed ${seedId} is not the seed any slot of this host offers`);
    return record;
  }

  private pendingFor(requestId: string): SeedRecord | undefined {
    for (const record of this.records.values()) {
      if (record.pendingPrefetch?.requestId === requestId) return record;
    }
    return undefined;
  }

  private liveSeed(record: SeedRecord): SeedLifecycle {
    const seed = this.slots.seedAt(record.slotId);
    if (seed === undefined) throw new Error(`seed ${record.seedId} awaits a kernel but holds no slot`);
    return seed;
  }
}

/**
 * The id of the directive `sequence` of `seedId` in run `run`. It is a function of the three so that a
 * directive decided again after a restart (from the same persisted state) carries the same
 * `Nats-Msg-Id`, and the stream stores it once.
 */
export function directiveIdOf(run: string, seedId: string, sequence: number): string {
  return `${run}.${seedId}.${sequence}`;
}

function planOf(command: AdaptationCommand, op: CommandSeedOperation): SeedPlan {
  const missing = (field: string) =>
    new Rejected("missing_field", `payload.${field} is required for GERMINATE`);
  if (op.blueprintId === undefined) throw missing("blueprintId");
  if (op.blendMode === undefined) throw missing("blendMode");
  if (op.schedule === undefined) throw missing("schedule");
  return {
    commandId: command.commandId,
    blueprintId: op.blueprintId,
    blendMode: op.blendMode,
    schedule: op.schedule,
    ...(op.alphaVector !== undefined ? { alphaVector: op.alphaVector } : {}),
    ...(op.confidence !== undefined ? { confidence: op.confidence } : {}),
    includeTeacher: op.includeTeacher,
  };
}

function event(level: TelemetryLevel, name: string, attributes: Record<string, string>): ControllerEffect {
  return { kind: "event", level, name, attributes };
}

function rejectionEvent(rejection: CommandRejection): ControllerEffect {
  return event(TelemetryLevel.ERROR, "kasmina.command.rejected", { ...rejection });
}

function unexpectedPrefetch(requestId: string, what: string): ControllerEffect {
  return event(TelemetryLevel.WARNING, "kasmina.prefetch.unexpected", {
    requestId,
    detail: `${what}: no seed awaits this request`,
  });
}
