import type { TelemetryPacket } from "../../contracts/messages/telemetry.ts";
import { type SubjectKey, subjectFilter } from "../../contracts/subjects.ts";

/** The run-level subjects of a run: the `{run}` token is the run id, so only that run's messages match. */
export const runLevelSubjects = [
  "command",
  "seedDirective",
  "seedReport",
  "seedState",
  "statePacket",
  "decision",
  "fieldReport",
  "emergency",
] as const satisfies readonly SubjectKey[];

/**
 * The shared subjects a run's actors use, recorded whole: Tamiyo's evaluate requests, Urza's prefetch
 * requests, raw telemetry of every actor, catalog and policy updates, heartbeats of every actor.
 */
export const sharedRunSubjects = [
  "tamiyoEvaluate",
  "urzaPrefetch",
  "telemetryRaw",
  "catalogUpdate",
  "policyUpdate",
  "heartbeat",
] as const satisfies readonly SubjectKey[];

/**
 * The subject filters of run `runId`'s bus traffic under namespace `ns`, for the recorder: every
 * run-level subject with this run's token, and every shared subject in full. Frames on a shared subject
 * may belong to another run of the namespace (the recorder does not read payloads); run-level frames
 * of other runs never match. Replies (on inboxes) and dead letters are not included.
 */
export function runRecordingFilters(ns: string, runId: string): string[] {
  return [
    ...runLevelSubjects.map((key) => subjectFilter(ns, key, { run: runId })),
    ...sharedRunSubjects.map((key) => subjectFilter(ns, key)),
  ];
}

/** The attribute naming the training run a metric, event or span is about. */
export const RUN_ID_ATTRIBUTE = "trainingRunId";

const ofRun =
  (runId: string) =>
  (item: { readonly attributes?: Readonly<Record<string, string>> | undefined }): boolean =>
    item.attributes?.[RUN_ID_ATTRIBUTE] === runId;

/**
 * The part of `packet` that belongs to run `runId`: its metrics, events and spans whose
 * `trainingRunId` attribute is the run id (a packet carries no run id of its own, and actors of several
 * runs publish on the same `telemetry.raw.<actor>` subject). The packet's `systemHealth` describes the
 * sending process, not a run, and is left out. Undefined when no item belongs to the run.
 */
export function runPartOf(packet: TelemetryPacket, runId: string): TelemetryPacket | undefined {
  const belongs = ofRun(runId);
  const { systemHealth: _health, ...rest } = packet;
  const part: TelemetryPacket = {
    ...rest,
    metrics: packet.metrics.filter(belongs),
    events: packet.events.filter(belongs),
    spans: packet.spans.filter(belongs),
  };
  const items = part.metrics.length + part.events.length + part.spans.length;
  return items === 0 ? undefined : part;
}
