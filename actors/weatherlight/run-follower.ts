import type { BusConnection } from "../../bus/connection.ts";
import { type RecordSummary, startRecorder } from "../../bus/recording/recorder.ts";
import { type BusSubscription, listenTyped, subscribe } from "../../bus/typed.ts";
import type { ContractError } from "../../contracts/errors.ts";
import type { TelemetryPacket } from "../../contracts/messages/telemetry.ts";
import { subjectFilter } from "../../contracts/subjects.ts";
import { RunDirectoryError, SummaryInputError } from "./errors.ts";
import type { RunDirectory } from "./run-directory.ts";
import type { RunEvent } from "./run-events.ts";
import { RunSummaryBuilder, type SummaryInput } from "./run-summary.ts";
import { runPartOf, runRecordingFilters } from "./run-traffic.ts";
import type { RunOutcome, RunSummary } from "./summary-schema.ts";

/** What {@link followRun} needs. */
export interface RunFollowerOptions {
  readonly bus: BusConnection;
  readonly runId: string;
  readonly directory: RunDirectory;
  readonly startedAtMs: number;
  /** Receives every run event the run's messages produce (for the progress output). */
  readonly onEvent: (event: RunEvent) => void;
}

/** A run being followed. */
export interface RunFollower {
  /** Stops recording and subscriptions, writes summary.json; returns the summary and the recorder summary. */
  finish(end: {
    outcome: RunOutcome;
    reason: string;
    endedAtMs: number;
  }): Promise<{ summary: RunSummary; recording: RecordSummary }>;
}

/** Event reported (once per message type and field) when a run message is refused or unusable. */
export const MESSAGE_REFUSED_EVENT = "weatherlight.run_message_refused";

/** How long a subscription's queued handlers may run on finish before the rest is discarded. */
const STOP_GRACE_MS = 5_000;

/** The run-level subjects read into the summary, with the message type each carries. */
const summarySubjects = [
  { key: "command", type: "AdaptationCommand" },
  { key: "seedDirective", type: "SeedDirective" },
  { key: "seedReport", type: "SeedReport" },
  { key: "seedState", type: "SeedState" },
  { key: "statePacket", type: "SystemStatePacket" },
  { key: "decision", type: "TamiyoDecision" },
] as const;

/**
 * Follows run `runId` on the bus until `finish`: records the run's traffic (see `runRecordingFilters`)
 * into the directory's `bus.esperrec`; reads the run-level subjects with this run's token into the
 * summary, emitting each run event through `onEvent`; appends the run's part of every raw telemetry
 * packet (see `runPartOf`) to `telemetry.jsonl` and into the summary. A message refused by its contract
 * or by the summary is counted in `messages.rejected` and reported once per message type and field as
 * the bus event `weatherlight.run_message_refused`; following goes on. Resolves once subscribed.
 */
export async function followRun(opts: RunFollowerOptions): Promise<RunFollower> {
  const { bus, runId, directory, onEvent } = opts;
  const filters = runRecordingFilters(bus.namespace, runId);
  const builder = new RunSummaryBuilder(runId, opts.startedAtMs);
  const reported = new Set<string>();
  const report = (messageType: string, field: string, reason: string, subject: string): void => {
    const kind = `${messageType} ${field}`;
    if (reported.has(kind)) return;
    reported.add(kind);
    bus.emit(MESSAGE_REFUSED_EVENT, "warn", { runId, subject, messageType, field, reason });
  };
  const onRefused = (subject: string, error: ContractError): void => {
    builder.countRefused();
    report(error.messageType, error.field, error.reason, subject);
  };
  const observe = (input: SummaryInput, subject: string): void => {
    let events: RunEvent[];
    try {
      events = builder.observe(input, Date.now());
    } catch (error) {
      if (!(error instanceof SummaryInputError)) throw error;
      report(error.messageType, error.field, error.problem, subject);
      return;
    }
    for (const event of events) onEvent(event);
  };

  let appendFailures = 0;
  let firstAppendFailure: unknown;
  const onTelemetry = (packet: TelemetryPacket, subject: string): Promise<void> | undefined => {
    const part = runPartOf(packet, runId);
    if (part === undefined) return undefined;
    const appended = directory.appendTelemetry(part).catch((error: unknown) => {
      appendFailures++;
      firstAppendFailure ??= error;
    });
    observe({ type: "TelemetryPacket", message: part }, subject);
    return appended;
  };

  const subscriptions: BusSubscription[] = summarySubjects.map(({ key, type }) =>
    listenTyped(
      bus,
      subjectFilter(bus.namespace, key, { run: runId }),
      type,
      (message, ctx) => observe({ type, message } as SummaryInput, ctx.subject),
      { onRefused },
    ),
  );
  subscriptions.push(subscribe(bus, "telemetryRaw", (packet, ctx) => onTelemetry(packet, ctx.subject)));

  let recorder: Awaited<ReturnType<typeof startRecorder>>;
  try {
    // Its flush also confirms the subscriptions above with the server.
    recorder = await startRecorder(bus, {
      subjects: filters,
      out: directory.paths.busRecording,
      tool: "esper up",
    });
  } catch (error) {
    await Promise.all(subscriptions.map((s) => s.stop(0)));
    throw error;
  }

  let finishing: Promise<{ summary: RunSummary; recording: RecordSummary }> | undefined;
  const finish = async (end: {
    outcome: RunOutcome;
    reason: string;
    endedAtMs: number;
  }): Promise<{ summary: RunSummary; recording: RecordSummary }> => {
    let recording: RecordSummary | undefined;
    let recordingFailure: unknown;
    try {
      recording = await recorder.stop();
    } catch (error) {
      recordingFailure = error;
    }
    await Promise.all(subscriptions.map((s) => s.stop(STOP_GRACE_MS)));
    const summary = builder.finish(end);
    await directory.writeSummary(summary);
    await directory.close();
    if (recording === undefined) throw recordingFailure;
    if (appendFailures > 0) {
      const cause =
        firstAppendFailure instanceof Error ? firstAppendFailure.message : String(firstAppendFailure);
      throw new RunDirectoryError(
        directory.paths.dir,
        `${appendFailures} telemetry packet(s) could not be appended to telemetry.jsonl: ${cause}`,
      );
    }
    return { summary, recording };
  };
  return {
    finish: (end) => {
      finishing ??= finish(end);
      return finishing;
    },
  };
}
