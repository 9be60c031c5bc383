import { z } from "zod";
import { FieldReport } from "../../contracts/index.ts";
import { type ObservationWindow, withObservation } from "./field-report-window.ts";

/**
 * The records of Tamiyo's field-report write-ahead log (JSON bodies) and the state they fold into:
 * open windows, ended windows' reports waiting to be published, and the published report ids.
 */

const finite = z.number().refine(Number.isFinite, "must be a finite number");
const epoch = z.number().int().min(0);
const text = z.string().min(1);

const Observation = z.strictObject({
  epoch,
  loss: finite,
  accuracy: finite,
  decisionLatencyMs: finite.refine((v) => v >= 0, "must be ≥ 0"),
});

const Window = z.strictObject({
  commandId: text,
  trainingRunId: text,
  seedId: text,
  blueprintId: text,
  policyVersion: text,
  openedEpoch: epoch,
  openedAtMs: epoch,
  epochs: z.number().int().min(1),
  baselineLoss: finite,
  baselineAccuracy: finite,
  observations: z.array(Observation).readonly(),
});

/** One record of the field-report log. */
export const JournalRecord = z.discriminatedUnion("kind", [
  /** A seed command's window opened (written before the command is published), or a window in a snapshot. */
  z.strictObject({ kind: z.literal("opened"), window: Window }),
  /** An epoch observed by an open window. */
  z.strictObject({ kind: z.literal("observed"), commandId: text, observation: Observation }),
  /** The command of an open window was not published: the window is dropped. */
  z.strictObject({ kind: z.literal("withdrawn"), commandId: text, reason: text }),
  /** A window ended: its report, to be published (written before the publish). */
  z.strictObject({ kind: z.literal("ended"), report: FieldReport }),
  /** A report's publish was acknowledged by its stream. */
  z.strictObject({ kind: z.literal("published"), reportId: text, commandId: text, atMs: epoch }),
]);
export type JournalRecord = z.infer<typeof JournalRecord>;

/** A published report as remembered for deduplication. */
export interface PublishedReport {
  readonly reportId: string;
  readonly commandId: string;
  readonly atMs: number;
}

/** What the log holds. Maps keep their insertion order (the order of the log). */
export interface JournalState {
  /** Open windows by command id. */
  readonly windows: Map<string, ObservationWindow>;
  /** Reports of ended windows not yet published, by report id. */
  readonly pending: Map<string, FieldReport>;
  /** Published reports by report id. */
  readonly published: Map<string, PublishedReport>;
}

/** A log record that cannot be read or does not follow from the records before it. */
export class JournalRecordError extends Error {
  override readonly name = "JournalRecordError";
  constructor(
    readonly file: string,
    readonly index: number,
    problem: string,
  ) {
    super(`field-report log ${file}, record ${index}: ${problem}`);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The body bytes of a record. */
export function encodeJournalRecord(record: JournalRecord): Uint8Array {
  return encoder.encode(JSON.stringify(JournalRecord.parse(record)));
}

/** The record of body bytes; throws JournalRecordError naming the record and the field. */
export function decodeJournalRecord(body: Uint8Array, file: string, index: number): JournalRecord {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(body));
  } catch (err) {
    throw new JournalRecordError(
      file,
      index,
      `not JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const parsed = JournalRecord.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new JournalRecordError(
      file,
      index,
      `field '${issue?.path.join(".") ?? ""}' ${issue?.message ?? ""}`,
    );
  }
  return parsed.data;
}

/** An empty state. */
export function emptyJournal(): JournalState {
  return { windows: new Map(), pending: new Map(), published: new Map() };
}

/**
 * Throws a plain Error when `record` does not follow from the state: an observation or withdrawal of
 * a window that is not open.
 */
export function checkJournalRecord(state: JournalState, record: JournalRecord): void {
  if ((record.kind === "observed" || record.kind === "withdrawn") && !state.windows.has(record.commandId)) {
    throw new Error(`${record.kind} record of window ${record.commandId}, which is not open`);
  }
}

/**
 * Applies one record to the state (mutating it) after {@link checkJournalRecord}. An `ended` record of
 * a report already published adds nothing (dedupe by report id).
 */
export function applyJournalRecord(state: JournalState, record: JournalRecord): void {
  checkJournalRecord(state, record);
  switch (record.kind) {
    case "opened":
      state.windows.set(record.window.commandId, record.window);
      return;
    case "observed": {
      const window = state.windows.get(record.commandId) as ObservationWindow;
      state.windows.set(record.commandId, withObservation(window, record.observation));
      return;
    }
    case "withdrawn":
      state.windows.delete(record.commandId);
      return;
    case "ended":
      state.windows.delete(record.report.commandId);
      if (!state.published.has(record.report.reportId))
        state.pending.set(record.report.reportId, record.report);
      return;
    case "published":
      state.pending.delete(record.reportId);
      state.published.set(record.reportId, {
        reportId: record.reportId,
        commandId: record.commandId,
        atMs: record.atMs,
      });
      return;
  }
}

/** Folds decoded log bodies into a state; throws JournalRecordError naming the first bad record. */
export function foldJournal(bodies: readonly Uint8Array[], file: string): JournalState {
  const state = emptyJournal();
  bodies.forEach((body, index) => {
    const record = decodeJournalRecord(body, file, index);
    try {
      applyJournalRecord(state, record);
    } catch (err) {
      throw new JournalRecordError(file, index, err instanceof Error ? err.message : String(err));
    }
  });
  return state;
}

/** The records that rebuild `state`: one `opened` per window (with its observations), one `ended` per pending report, one `published` per kept id. */
export function snapshotRecords(state: JournalState): JournalRecord[] {
  return [
    ...[...state.windows.values()].map((window): JournalRecord => ({ kind: "opened", window })),
    ...[...state.pending.values()].map((report): JournalRecord => ({ kind: "ended", report })),
    ...[...state.published.values()].map((p): JournalRecord => ({ kind: "published", ...p })),
  ];
}

/** Limits of the published report ids kept for deduplication. */
export interface RetentionLimits {
  /** Ids published longer ago than this are dropped. */
  readonly maxAgeMs: number;
  /** At most this many ids, the most recently published, are kept. */
  readonly maxCount: number;
}

/**
 * Drops published ids older than `maxAgeMs` and all but the `maxCount` most recent (mutating the
 * state); open windows and pending reports are never dropped. Returns how many ids were dropped.
 */
export function retainPublished(state: JournalState, nowMs: number, limits: RetentionLimits): number {
  const byAge = [...state.published.values()].filter((p) => p.atMs >= nowMs - limits.maxAgeMs);
  const kept = byAge
    .map((p, order) => ({ p, order }))
    .sort((a, b) => b.p.atMs - a.p.atMs || b.order - a.order)
    .slice(0, limits.maxCount)
    .sort((a, b) => a.order - b.order)
    .map(({ p }) => p);
  const dropped = state.published.size - kept.length;
  state.published.clear();
  for (const p of kept) state.published.set(p.reportId, p);
  return dropped;
}
