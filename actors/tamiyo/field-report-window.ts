import {
  type FieldReport,
  type FieldReportDelta,
  FieldReportOutcome,
  SeedLifecycleStage,
  type SystemStatePacket,
} from "../../contracts/index.ts";

/** One epoch of a run seen during an observation window. */
export interface WindowObservation {
  readonly epoch: number;
  readonly loss: number;
  readonly accuracy: number;
  /** Tamiyo's decision latency for this epoch's packet, in ms. */
  readonly decisionLatencyMs: number;
}

/** The observation window of one seed command: its baseline and the epochs seen since. */
export interface ObservationWindow {
  readonly commandId: string;
  readonly trainingRunId: string;
  readonly seedId: string;
  readonly blueprintId: string;
  readonly policyVersion: string;
  /** The epoch of the packet the command answered. */
  readonly openedEpoch: number;
  readonly openedAtMs: number;
  /** Epochs observed before the window ends. */
  readonly epochs: number;
  readonly baselineLoss: number;
  readonly baselineAccuracy: number;
  /** Epochs after `openedEpoch`, ascending, one per epoch. */
  readonly observations: readonly WindowObservation[];
}

/** A window's end: why it ended (abort reason, or undefined when its epochs were all seen). */
export interface WindowEnd {
  readonly aborted: string | undefined;
}

/** What a packet does to a window. */
export type WindowStep =
  | { readonly kind: "unchanged" }
  | { readonly kind: "observed"; readonly observation: WindowObservation; readonly window: ObservationWindow }
  | {
      readonly kind: "ended";
      readonly observation: WindowObservation | undefined;
      readonly window: ObservationWindow;
      readonly end: WindowEnd;
    };

/** Seed stages that end a window as ABORTED: the seed left the lifecycle before the window ended. */
const ABORTING_STAGES: ReadonlyMap<number, string> = new Map([
  [SeedLifecycleStage.CULLED, "CULLED"],
  [SeedLifecycleStage.EMBARGOED, "EMBARGOED"],
  [SeedLifecycleStage.RESETTING, "RESETTING"],
  [SeedLifecycleStage.TERMINATED, "TERMINATED"],
]);

/** Opens the window of a seed command issued on `packet`'s epoch. */
export function openWindow(
  command: {
    readonly commandId: string;
    readonly seedId: string;
    readonly blueprintId: string;
    readonly policyVersion: string;
  },
  packet: SystemStatePacket,
  epochs: number,
  nowMs: number,
): ObservationWindow {
  return {
    ...command,
    trainingRunId: packet.trainingRunId,
    openedEpoch: packet.currentEpoch,
    openedAtMs: nowMs,
    epochs,
    baselineLoss: packet.validationLoss,
    baselineAccuracy: packet.validationAccuracy,
    observations: [],
  };
}

/**
 * Applies a packet of the window's run. A packet of the command's epoch (a redelivery) changes
 * nothing; one of an earlier epoch (a rollback past the command) or one whose seed is CULLED,
 * EMBARGOED, RESETTING, TERMINATED or absent ends it as aborted. Otherwise the epoch's observation
 * replaces that epoch and any later one (a rollback within the window forgets the epochs undone), and
 * the window ends once an epoch at or past `openedEpoch + epochs` is seen.
 */
export function stepWindow(
  window: ObservationWindow,
  packet: SystemStatePacket,
  decisionLatencyMs: number,
): WindowStep {
  if (packet.currentEpoch === window.openedEpoch) return { kind: "unchanged" };
  if (packet.currentEpoch < window.openedEpoch) {
    const aborted = `the run rolled back to epoch ${packet.currentEpoch}, before the command's epoch ${window.openedEpoch}`;
    return { kind: "ended", observation: undefined, window, end: { aborted } };
  }
  const observation: WindowObservation = {
    epoch: packet.currentEpoch,
    loss: packet.validationLoss,
    accuracy: packet.validationAccuracy,
    decisionLatencyMs,
  };
  const next = withObservation(window, observation);
  const seed = packet.seedStates.find((s) => s.seedId === window.seedId);
  if (seed === undefined) {
    const aborted = `seed ${window.seedId} is not in the packet of epoch ${packet.currentEpoch}`;
    return { kind: "ended", observation, window: next, end: { aborted } };
  }
  const stage = ABORTING_STAGES.get(seed.stage);
  if (stage !== undefined) {
    const aborted = `seed ${window.seedId} is ${stage} at epoch ${packet.currentEpoch}`;
    return { kind: "ended", observation, window: next, end: { aborted } };
  }
  if (packet.currentEpoch >= window.openedEpoch + window.epochs) {
    return { kind: "ended", observation, window: next, end: { aborted: undefined } };
  }
  return { kind: "observed", observation, window: next };
}

/** The window with `observation` replacing its epoch and any later one. */
export function withObservation(
  window: ObservationWindow,
  observation: WindowObservation,
): ObservationWindow {
  const kept = window.observations.filter((o) => o.epoch < observation.epoch);
  return { ...window, observations: [...kept, observation] };
}

/** Threshold of a per-epoch validation loss rise counted as a critical epoch (the reference's max loss spike). */
export const LOSS_SPIKE = 0.15;

/** The typed delta of a window: per-epoch loss changes from the baseline on, accuracy change, critical epochs. */
export function windowDelta(window: ObservationWindow): FieldReportDelta {
  let previous = window.baselineLoss;
  const steps: number[] = [];
  for (const o of window.observations) {
    steps.push(o.loss - previous);
    previous = o.loss;
  }
  const last = window.observations.at(-1);
  const latencies = window.observations.map((o) => o.decisionLatencyMs);
  return {
    lossDelta: last === undefined ? 0 : last.loss - window.baselineLoss,
    lossDeltaMin: steps.length === 0 ? 0 : Math.min(...steps),
    lossDeltaMax: steps.length === 0 ? 0 : Math.max(...steps),
    accuracyDelta: last === undefined ? 0 : last.accuracy - window.baselineAccuracy,
    epochs: window.observations.length,
    criticalEvents: steps.filter((d) => d > LOSS_SPIKE).length,
    avgDecisionLatencyMs:
      latencies.length === 0 ? 0 : latencies.reduce((a, b) => a + b, 0) / latencies.length,
  };
}

/**
 * The outcome of a window (the reference's window rules): ABORTED when it was aborted; REGRESSION when
 * the loss rose over the window or an epoch rose by more than {@link LOSS_SPIKE}; SUCCESS when the loss
 * fell without such an epoch; NEUTRAL when it did not change.
 */
export function windowOutcome(delta: FieldReportDelta, end: WindowEnd): FieldReport["outcome"] {
  if (end.aborted !== undefined) return FieldReportOutcome.ABORTED;
  if (delta.lossDelta > 0 || delta.criticalEvents > 0) return FieldReportOutcome.REGRESSION;
  if (delta.lossDelta < 0) return FieldReportOutcome.SUCCESS;
  return FieldReportOutcome.NEUTRAL;
}

/** The report id of a command's field report: one report per command, so a re-publish is a duplicate. */
export function reportIdOf(commandId: string): string {
  return `fr-${commandId}`;
}

const OUTCOME_NAMES: Readonly<Record<FieldReportOutcome, string>> = {
  [FieldReportOutcome.UNSPECIFIED]: "UNSPECIFIED",
  [FieldReportOutcome.SUCCESS]: "SUCCESS",
  [FieldReportOutcome.NEUTRAL]: "NEUTRAL",
  [FieldReportOutcome.REGRESSION]: "REGRESSION",
  [FieldReportOutcome.ABORTED]: "ABORTED",
};

/** The name of an outcome code, for notes and telemetry. */
export function outcomeName(outcome: FieldReportOutcome): string {
  return OUTCOME_NAMES[outcome];
}

/** The FieldReport of an ended window, issued at `issuedAtMs`. */
export function fieldReportOf(window: ObservationWindow, end: WindowEnd, issuedAtMs: number): FieldReport {
  const delta = windowDelta(window);
  const outcome = windowOutcome(delta, end);
  const last = window.observations.at(-1);
  const notes =
    end.aborted !== undefined
      ? `aborted: ${end.aborted}`
      : `${outcomeName(outcome)}: validation loss ${window.baselineLoss} → ${last?.loss ?? window.baselineLoss} over epochs ${window.openedEpoch + 1}–${last?.epoch ?? window.openedEpoch}, ${delta.criticalEvents} epoch(s) rising by more than ${LOSS_SPIKE}`;
  return {
    version: 1,
    reportId: reportIdOf(window.commandId),
    commandId: window.commandId,
    trainingRunId: window.trainingRunId,
    seedId: window.seedId,
    blueprintId: window.blueprintId,
    outcome,
    delta,
    metrics: {
      baselineLoss: window.baselineLoss,
      baselineAccuracy: window.baselineAccuracy,
      openedEpoch: window.openedEpoch,
    },
    observationWindowEpochs: window.epochs,
    issuedAt: issuedAtMs,
    tamiyoPolicyVersion: window.policyVersion,
    followUpActions: [],
    notes,
  };
}
