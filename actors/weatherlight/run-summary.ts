import { CommandType, SeedLifecycleStage, SeedOperation } from "../../contracts/enums.ts";
import type { AdaptationCommand } from "../../contracts/messages/command.ts";
import type { TamiyoDecision } from "../../contracts/messages/decision.ts";
import type { SeedDirective, SeedReport } from "../../contracts/messages/seed.ts";
import type { SeedState, SystemStatePacket } from "../../contracts/messages/state.ts";
import type { TelemetryEvent, TelemetryPacket } from "../../contracts/messages/telemetry.ts";
import { SummaryInputError } from "./errors.ts";
import type { RunEvent } from "./run-events.ts";
import {
  type CommandRecord,
  type CommandRejection,
  type EpochRecord,
  type RunOutcome,
  RunSummary,
  type SeedRecord,
  type StageChange,
  StageName,
  type TimeoutRecord,
} from "./summary-schema.ts";

/**
 * The telemetry events the summary reads, by event id, with the attributes each must carry (all
 * strings, `trainingRunId` on every one). Events of other runs are skipped; other event ids are ignored.
 * - `kasmina.seed.transition`: `seedId`, `from`, `to` (stage names), `reason`.
 * - `kasmina.command.rejected`: `commandId`, `reason` (the verifier's reason; the description holds the detail).
 * - `tolaria.decision.timeout`: `epoch`, `packetId` (Tamiyo did not answer that packet in time).
 */
export const summaryEventIds = {
  seedTransition: "kasmina.seed.transition",
  commandRejected: "kasmina.command.rejected",
  decisionTimeout: "tolaria.decision.timeout",
} as const;

/** The extra training metric holding the model's parameter count (host and grafted seeds). */
export const PARAMETER_COUNT_METRIC = "parameterCount";

/** One message of the run, by its Leyline message type. */
export type SummaryInput =
  | { readonly type: "SystemStatePacket"; readonly message: SystemStatePacket }
  | { readonly type: "SeedState"; readonly message: SeedState }
  | { readonly type: "SeedDirective"; readonly message: SeedDirective }
  | { readonly type: "SeedReport"; readonly message: SeedReport }
  | { readonly type: "AdaptationCommand"; readonly message: AdaptationCommand }
  | { readonly type: "TamiyoDecision"; readonly message: TamiyoDecision }
  | { readonly type: "TelemetryPacket"; readonly message: TelemetryPacket };

/** How the run ended, given by the supervisor. */
export interface RunEnd {
  readonly outcome: RunOutcome;
  readonly reason: string;
  readonly endedAtMs: number;
}

type MessageCounts = RunSummary["messages"];

interface SeedAccumulator {
  seedId: string;
  slotId?: string;
  blueprintId?: string;
  stage: StageName;
  timeline: StageChange[];
  directives: number;
  reports: number;
  lastReport?: NonNullable<SeedRecord["lastReport"]>;
}

interface IssuedCommand {
  readonly commandId: string;
  readonly commandType: string;
  readonly targetSeedId?: string;
  readonly operation?: string;
  readonly issuedAtMs: number;
}

type SummaryTelemetry =
  | { readonly kind: "transition"; readonly seedId: string; readonly change: StageChange }
  | { readonly kind: "rejection"; readonly rejection: CommandRejection }
  | { readonly kind: "timeout"; readonly timeout: TimeoutRecord };

const stageNameOf = (code: number): StageName => StageName.parse(nameOfCode(SeedLifecycleStage, code));
const nameOfCode = (e: Readonly<Record<string, number>>, code: number): string =>
  Object.entries(e).find(([, c]) => c === code)?.[0] ?? String(code);

/**
 * Accumulates the messages of one training run into its summary (pure: no I/O, times given by the
 * caller). `observe` returns the run events the message produced, for the progress output. A message
 * of another run, or one missing what the summary needs, throws SummaryInputError naming the field;
 * it is counted in `messages.rejected` and changes nothing else.
 */
export class RunSummaryBuilder {
  private readonly epochs = new Map<number, EpochRecord>();
  private readonly seeds = new Map<string, SeedAccumulator>();
  private readonly issued = new Map<string, IssuedCommand>();
  private readonly appliedBy = new Map<string, string>();
  private readonly rejections: CommandRejection[] = [];
  private readonly timeouts: TimeoutRecord[] = [];
  private readonly noAction = new Map<string, number>();
  private commandDecisions = 0;
  private readonly counts: { -readonly [K in keyof MessageCounts]: number } = {
    statePackets: 0,
    seedStates: 0,
    seedDirectives: 0,
    seedReports: 0,
    commands: 0,
    decisions: 0,
    telemetryPackets: 0,
    rejected: 0,
  };

  constructor(
    readonly runId: string,
    readonly startedAtMs: number,
  ) {}

  /** Adds one message received at `atMs`; returns the run events it produced. */
  observe(input: SummaryInput, atMs: number): RunEvent[] {
    try {
      return this.apply(input, atMs);
    } catch (error) {
      if (error instanceof SummaryInputError) this.counts.rejected++;
      throw error;
    }
  }

  /** Counts a message of the run that failed its contract check (never observed) in `messages.rejected`. */
  countRefused(): void {
    this.counts.rejected++;
  }

  /** The summary so far, ended as given; validated against the RunSummary schema. */
  finish(end: RunEnd): RunSummary {
    const epochs = [...this.epochs.values()].sort((a, b) => a.epoch - b.epoch);
    const first = epochs[0];
    const last = epochs.at(-1);
    const list: CommandRecord[] = [...this.issued.values()].map((c) => this.commandRecord(c));
    const referenced = new Set([...this.appliedBy.keys(), ...this.rejections.map((r) => r.commandId)]);
    return RunSummary.parse({
      format: "esper.run-summary.v1",
      runId: this.runId,
      outcome: end.outcome,
      outcomeReason: end.reason,
      startedAtMs: this.startedAtMs,
      endedAtMs: end.endedAtMs,
      wallTimeMs: end.endedAtMs - this.startedAtMs,
      ...(first !== undefined && last !== undefined
        ? { parameterCount: { first: first.parameterCount, last: last.parameterCount } }
        : {}),
      epochs,
      seeds: [...this.seeds.values()].map((s) => ({
        ...s,
        stage: s.timeline.at(-1)?.to ?? s.stage,
        timeline: [...s.timeline],
      })),
      commands: {
        issued: list.length,
        applied: list.filter((c) => c.status === "applied").length,
        rejected: list.filter((c) => c.status === "rejected").length,
        unresolved: list.filter((c) => c.status === "unresolved").length,
        list,
        rejections: [...this.rejections],
        unknownReferenced: [...referenced].filter((id) => !this.issued.has(id)),
      },
      decisions: { command: this.commandDecisions, noAction: Object.fromEntries(this.noAction) },
      timeouts: { count: this.timeouts.length, list: [...this.timeouts] },
      messages: { ...this.counts },
    });
  }

  private apply(input: SummaryInput, atMs: number): RunEvent[] {
    switch (input.type) {
      case "SystemStatePacket":
        return this.onStatePacket(input.message, atMs);
      case "SeedState":
        // A SeedState carries no run id; its subject carries the run token.
        return this.onSeedState(input.message);
      case "SeedDirective":
        return this.onDirective(input.message, atMs);
      case "SeedReport":
        return this.onReport(input.message);
      case "AdaptationCommand":
        this.checkRunId(input.type, "trainingRunId", input.message.trainingRunId);
        this.counts.commands++;
        return this.onCommand(input.message);
      case "TamiyoDecision":
        return this.onDecision(input.message);
      case "TelemetryPacket":
        return this.onTelemetry(input.message, atMs);
    }
  }

  private checkRunId(type: string, field: string, runId: string): void {
    if (runId !== this.runId) {
      throw new SummaryInputError(type, field, `is '${runId}', not this run's id '${this.runId}'`);
    }
  }

  private onStatePacket(p: SystemStatePacket, atMs: number): RunEvent[] {
    this.checkRunId("SystemStatePacket", "trainingRunId", p.trainingRunId);
    const parameterCount = p.trainingMetrics.extra[PARAMETER_COUNT_METRIC];
    if (parameterCount === undefined || !Number.isSafeInteger(parameterCount) || parameterCount < 0) {
      throw new SummaryInputError(
        "SystemStatePacket",
        `trainingMetrics.extra.${PARAMETER_COUNT_METRIC}`,
        parameterCount === undefined
          ? "is missing: Tolaria must report the model's parameter count in every packet"
          : `is ${parameterCount}, not a non-negative integer`,
      );
    }
    this.counts.statePackets++;
    const seeds = p.seedStates.map((s) => ({ seedId: s.seedId, stage: stageNameOf(s.stage) }));
    for (const s of p.seedStates) this.noteSeed(s.seedId, stageNameOf(s.stage), s.blueprintId);
    const record: EpochRecord = {
      epoch: p.currentEpoch,
      globalStep: p.globalStep,
      trainingLoss: p.trainingLoss,
      validationLoss: p.validationLoss,
      validationAccuracy: p.validationAccuracy,
      parameterCount,
      seeds,
      atMs,
    };
    this.epochs.set(p.currentEpoch, record);
    const { atMs: _at, ...rest } = record;
    return [{ kind: "epoch", atMs, ...rest, epochsTotal: p.trainingMetrics.epochsTotal }];
  }

  private onSeedState(s: SeedState): RunEvent[] {
    this.counts.seedStates++;
    this.noteSeed(s.seedId, stageNameOf(s.stage), s.blueprintId);
    return [];
  }

  private onDirective(d: SeedDirective, atMs: number): RunEvent[] {
    this.checkRunId("SeedDirective", "trainingRunId", d.trainingRunId);
    this.counts.seedDirectives++;
    const seed = this.noteSeed(d.seedId, stageNameOf(d.stage), d.kernel?.blueprintId);
    seed.slotId = d.slotId;
    seed.directives++;
    if (d.commandId === undefined || this.appliedBy.has(d.commandId)) return [];
    this.appliedBy.set(d.commandId, d.directiveId);
    return [{ kind: "command_applied", atMs, commandId: d.commandId, directiveId: d.directiveId }];
  }

  private onReport(r: SeedReport): RunEvent[] {
    this.checkRunId("SeedReport", "trainingRunId", r.trainingRunId);
    this.counts.seedReports++;
    const seed = this.noteSeed(r.seedId, stageNameOf(r.stage), undefined);
    seed.reports++;
    seed.lastReport = { epoch: r.epoch, loss: r.loss, alpha: r.alpha, parameterCount: r.parameterCount };
    return [];
  }

  private onCommand(c: AdaptationCommand): RunEvent[] {
    if (this.issued.has(c.commandId)) return [];
    const command: IssuedCommand = {
      commandId: c.commandId,
      commandType: nameOfCode(CommandType, c.commandType),
      ...(c.targetSeedId !== undefined ? { targetSeedId: c.targetSeedId } : {}),
      ...(c.payload.kind === "seed" ? { operation: nameOfCode(SeedOperation, c.payload.operation) } : {}),
      issuedAtMs: c.security.issuedAt,
    };
    this.issued.set(c.commandId, command);
    return [{ kind: "command_issued", atMs: command.issuedAtMs, ...withoutIssuedAt(command) }];
  }

  private onDecision(d: TamiyoDecision): RunEvent[] {
    this.checkRunId("TamiyoDecision", "trainingRunId", d.trainingRunId);
    if (d.outcome === "command") {
      this.checkRunId("TamiyoDecision", "command.trainingRunId", d.command.trainingRunId);
      this.counts.decisions++;
      this.commandDecisions++;
      return this.onCommand(d.command);
    }
    this.counts.decisions++;
    const code = d.reason.split(":", 1)[0] ?? d.reason;
    this.noAction.set(code, (this.noAction.get(code) ?? 0) + 1);
    return [];
  }

  private onTelemetry(packet: TelemetryPacket, atMs: number): RunEvent[] {
    const parsed = packet.events.flatMap((e, i) => this.readEvent(e, i, atMs));
    this.counts.telemetryPackets++;
    const events: RunEvent[] = [];
    for (const item of parsed) {
      if (item.kind === "transition") {
        const seed = this.noteSeed(item.seedId, item.change.to, undefined);
        seed.timeline.push(item.change);
        events.push({ kind: "seed_stage", seedId: item.seedId, ...item.change });
      } else if (item.kind === "rejection") {
        this.rejections.push(item.rejection);
        const { description: _d, ...rejection } = item.rejection;
        events.push({ kind: "command_rejected", ...rejection });
      } else {
        this.timeouts.push(item.timeout);
        const { description: _d, ...timeout } = item.timeout;
        events.push({ kind: "decision_timeout", ...timeout });
      }
    }
    return events;
  }

  /** The summary record of one telemetry event of this run; [] for other events and other runs. */
  private readEvent(e: TelemetryEvent, index: number, atMs: number): SummaryTelemetry[] {
    const known = Object.values(summaryEventIds) as string[];
    if (!known.includes(e.eventId)) return [];
    const attr = (key: string): string => {
      const value = e.attributes?.[key];
      if (value === undefined || value === "") {
        throw new SummaryInputError(
          "TelemetryPacket",
          `events[${index}].attributes.${key}`,
          `is missing (required on ${e.eventId})`,
        );
      }
      return value;
    };
    if (attr("trainingRunId") !== this.runId) return [];
    const stage = (key: string): StageName => {
      const parsed = StageName.safeParse(attr(key));
      if (!parsed.success) {
        throw new SummaryInputError(
          "TelemetryPacket",
          `events[${index}].attributes.${key}`,
          `is '${attr(key)}', not a seed stage name (${StageName.options.join(", ")})`,
        );
      }
      return parsed.data;
    };
    switch (e.eventId) {
      case summaryEventIds.seedTransition:
        return [
          {
            kind: "transition",
            seedId: attr("seedId"),
            change: { from: stage("from"), to: stage("to"), reason: attr("reason"), atMs },
          },
        ];
      case summaryEventIds.commandRejected:
        return [
          {
            kind: "rejection",
            rejection: {
              commandId: attr("commandId"),
              reason: attr("reason"),
              description: e.description,
              atMs,
            },
          },
        ];
      default: {
        const epoch = Number(attr("epoch"));
        if (!Number.isSafeInteger(epoch) || epoch < 0) {
          throw new SummaryInputError(
            "TelemetryPacket",
            `events[${index}].attributes.epoch`,
            `is '${attr("epoch")}', not an epoch number`,
          );
        }
        return [
          {
            kind: "timeout",
            timeout: { epoch, packetId: attr("packetId"), description: e.description, atMs },
          },
        ];
      }
    }
  }

  private noteSeed(seedId: string, stage: StageName, blueprintId: string | undefined): SeedAccumulator {
    let seed = this.seeds.get(seedId);
    if (seed === undefined) {
      seed = { seedId, stage, timeline: [], directives: 0, reports: 0 };
      this.seeds.set(seedId, seed);
    }
    seed.stage = stage;
    if (blueprintId !== undefined) seed.blueprintId = blueprintId;
    return seed;
  }

  private commandRecord(c: IssuedCommand): CommandRecord {
    const directiveId = this.appliedBy.get(c.commandId);
    if (directiveId !== undefined) return { ...c, status: "applied", directiveId };
    const rejection = this.rejections.find((r) => r.commandId === c.commandId);
    if (rejection !== undefined) return { ...c, status: "rejected", reason: rejection.reason };
    return { ...c, status: "unresolved" };
  }
}

function withoutIssuedAt({ issuedAtMs: _i, ...rest }: IssuedCommand): Omit<IssuedCommand, "issuedAtMs"> {
  return rest;
}
