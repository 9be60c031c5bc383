import {
  AdaptationCommand,
  CommandType,
  SeedDirective,
  type SeedLifecycleStage,
  SeedOperation,
  SeedReport,
  SeedState,
  SystemStatePacket,
  TamiyoDecision,
  TelemetryLevel,
  TelemetryPacket,
} from "../../../contracts/index.ts";
import { sampleOf } from "../../../contracts/testing/samples.ts";

/** The run id every fixture carries. */
export const RUN = "run-w";

/** A valid SeedState (parsed by its contract schema). */
export function seedState(seedId: string, stage: SeedLifecycleStage, blueprintId?: string): SeedState {
  return SeedState.parse({
    seedId,
    slotId: `slot-${seedId}`,
    slotWidth: 16,
    stage,
    ...(blueprintId !== undefined ? { blueprintId } : {}),
    gradientNorm: 0,
    learningRate: 0.01,
    layerDepth: 0,
    alpha: 0,
    ageEpochs: 0,
    riskScore: 0,
    metrics: {},
  });
}

/** A valid state packet of RUN at `epoch`; `parameterCount` goes in `trainingMetrics.extra` unless undefined. */
export function statePacket(
  epoch: number,
  fields: {
    validationLoss: number;
    validationAccuracy: number;
    parameterCount: number | undefined;
    seeds?: readonly SeedState[];
    runId?: string;
  },
): SystemStatePacket {
  const base = sampleOf("SystemStatePacket", 3) as SystemStatePacket;
  return SystemStatePacket.parse({
    ...base,
    packetId: `pkt-${epoch}`,
    trainingRunId: fields.runId ?? RUN,
    currentEpoch: epoch,
    globalStep: epoch * 100,
    validationLoss: fields.validationLoss,
    validationAccuracy: fields.validationAccuracy,
    trainingLoss: fields.validationLoss + 0.1,
    trainingMetrics: {
      ...base.trainingMetrics,
      epochsTotal: 20,
      extra: fields.parameterCount === undefined ? {} : { parameterCount: fields.parameterCount },
    },
    seedStates: [...(fields.seeds ?? [])],
  });
}

/** A valid SEED/GERMINATE command of RUN for `seedId`. */
export function germinateCommand(commandId: string, seedId: string, issuedAt = 1_000): AdaptationCommand {
  const base = sampleOf("AdaptationCommand", 5) as AdaptationCommand;
  return AdaptationCommand.parse({
    version: 1,
    commandId,
    commandType: CommandType.SEED,
    trainingRunId: RUN,
    targetSeedId: seedId,
    executionDeadlineMs: 5_000,
    issuedBy: "tamiyo",
    payload: {
      kind: "seed",
      operation: SeedOperation.GERMINATE,
      blueprintId: "bp-1",
      resume: false,
      includeTeacher: false,
      parameters: {},
    },
    security: { ...base.security, issuedAt },
  });
}

/** The latencies and risk block of a decision nothing vetoed. */
const assessed = {
  latencies: { policyMs: 0.5, riskMs: 0.1, commandMs: 0.2 },
  risk: { score: 0, vetoes: [], downgrades: [], annotations: [], conservative: false },
};

/** Tamiyo's reply carrying `command`. */
export function commandDecision(command: AdaptationCommand): TamiyoDecision {
  return TamiyoDecision.parse({
    packetId: "pkt-x",
    decisionId: `dec-${command.commandId}`,
    trainingRunId: command.trainingRunId,
    policyVersion: "tamiyo-rules-v1",
    latencyMs: 1,
    ...assessed,
    outcome: "command",
    command,
  });
}

/** Tamiyo's explicit no-op with `reason` (`<code>: <detail>`). */
export function noActionDecision(reason: string, runId = RUN): TamiyoDecision {
  return TamiyoDecision.parse({
    packetId: "pkt-x",
    decisionId: `dec-${reason.length}`,
    trainingRunId: runId,
    policyVersion: "tamiyo-rules-v1",
    latencyMs: 1,
    ...assessed,
    outcome: "noAction",
    reason,
  });
}

/** A directive of RUN for `seedId` at `stage`, carrying `commandId` when given. */
export function directive(
  directiveId: string,
  seedId: string,
  stage: SeedLifecycleStage,
  commandId?: string,
): SeedDirective {
  const base = sampleOf("SeedDirective", 2) as SeedDirective;
  return SeedDirective.parse({
    directiveId,
    trainingRunId: RUN,
    seedId,
    slotId: "slot-1",
    sequence: 1,
    action: "update",
    stage,
    blendMode: base.blendMode,
    alpha: 0,
    includeTeacher: false,
    ...(commandId !== undefined ? { commandId } : {}),
    issuedAt: 2_000,
  });
}

/** A report of RUN for `seedId`. */
export function seedReport(seedId: string, stage: SeedLifecycleStage, epoch: number): SeedReport {
  const base = sampleOf("SeedReport", 4) as SeedReport;
  return SeedReport.parse({
    ...base,
    trainingRunId: RUN,
    seedId,
    stage,
    epoch,
    loss: 0.5,
    alpha: 0.25,
    parameterCount: 130,
  });
}

/** A telemetry packet holding INFO events `eventId` with `attributes`. */
export function telemetry(
  ...events: readonly { eventId: string; attributes: Record<string, string>; description?: string }[]
): TelemetryPacket {
  return TelemetryPacket.parse({
    packetId: "tp-1",
    timestampMs: 3_000,
    sourceSubsystem: "kasmina",
    level: TelemetryLevel.INFO,
    priority: 2,
    metrics: [],
    events: events.map((e) => ({
      eventId: e.eventId,
      description: e.description ?? "",
      level: TelemetryLevel.INFO,
      attributes: e.attributes,
    })),
    spans: [],
  });
}
