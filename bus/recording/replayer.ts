import { setTimeout as sleep } from "node:timers/promises";
import type { BusConnection } from "../connection.ts";
import { RecordingFormatError } from "./format.ts";
import { RecordingReader } from "./reader.ts";
import { ReplaySender, type RequestReplay, type SenderCounts } from "./replay-sender.ts";
import { checkSubjectFilter, type NamespaceRemap, remapSubject, subjectMatches } from "./subject-filter.ts";

/** Replay pacing: the recorded gaps, no waiting, or the recorded gaps divided by a factor (2 = twice as fast). */
export type ReplaySpeed = "original" | "max" | number;

/** Parses `original`, `max` or a positive finite factor; errors name the `--speed` option. */
export function parseSpeed(text: string): ReplaySpeed {
  if (text === "original" || text === "max") return text;
  const factor = Number(text);
  if (text.trim() === "" || !Number.isFinite(factor) || factor <= 0) {
    throw new Error(`--speed '${text}' must be 'original', 'max' or a positive number`);
  }
  return factor;
}

/** Options of {@link replayRecording}. */
export interface ReplayOptions {
  /** Pacing; default `original`. */
  readonly speed?: ReplaySpeed;
  /** Publish only frames whose recorded subject matches this NATS filter (applied before the remap). */
  readonly subject?: string;
  /** Publish frames of namespace `from` under `to`; frames outside `from` are skipped and counted. */
  readonly remap?: NamespaceRemap;
  /** Replace every `Nats-Msg-Id` header with a new unique id, so a stream's duplicate window does not drop the replay. */
  readonly freshIds?: boolean;
  /** Re-issue frames with a recorded reply subject as requests and report each reply. */
  readonly requests?: RequestReplay;
  /** Stops the replay between frames; the summary then has `aborted: true`. */
  readonly signal?: AbortSignal;
}

/** Where a replay stopped because the file is truncated or corrupt. */
export interface ReplayStop {
  /** Index of the frame that could not be read. */
  readonly frame: number | null;
  /** Byte offset where that record starts. */
  readonly offset: number;
  /** True when the file ends inside the record; false when the record is corrupt. */
  readonly truncated: boolean;
  readonly reason: string;
}

/** What a replay did. */
export interface ReplaySummary extends SenderCounts {
  readonly file: string;
  readonly speed: ReplaySpeed;
  readonly freshIds: boolean;
  /** Whole frames read from the file. */
  readonly read: number;
  readonly published: number;
  /** Frames whose subject did not match the `subject` filter. */
  readonly skippedByFilter: number;
  /** Frames outside the remap's `from` namespace. */
  readonly skippedByRemap: number;
  /** From the first publish to the final flush, in milliseconds. */
  readonly durationMs: number;
  /** Published frames per (published) subject. */
  readonly bySubject: Readonly<Record<string, number>>;
  readonly aborted: boolean;
  /** Set when the file is truncated or corrupt after the header: every whole frame before it was replayed. */
  readonly stoppedAt: ReplayStop | null;
}

/** A replay that stopped at a truncated or corrupt record; carries the summary of what was replayed. */
export class ReplayIncompleteError extends Error {
  override readonly name = "ReplayIncompleteError";
  readonly summary: ReplaySummary;

  constructor(summary: ReplaySummary, cause: RecordingFormatError) {
    super(
      `${summary.file}: replay stopped at ${cause.truncated ? "truncated" : "corrupt"} record at byte ${cause.offset}` +
        ` after publishing ${summary.published} of ${summary.read} whole frames (${summary.rejected} rejected): ${cause.message}`,
      { cause },
    );
    this.summary = summary;
  }
}

/** How many frames are published at `max` speed between flushes (bounds client-side buffering). */
const MAX_SPEED_FLUSH_EVERY = 1000;

/**
 * Publishes the frames of a recording on `conn`, in file order, with their exact headers and payload
 * bytes (see {@link ReplaySender} for JetStream acknowledgements, fresh ids and requests). At
 * `original` speed (or a factor) each frame is sent at its recorded offset from the first published
 * frame (divided by the factor), on an absolute schedule so waits do not accumulate drift. Ends with
 * a flush and once every acknowledgement and reply has settled. A truncated or corrupt record after
 * the header stops the replay: what was whole is published, then ReplayIncompleteError carries the summary.
 */
export async function replayRecording(
  conn: BusConnection,
  file: string,
  opts: ReplayOptions = {},
): Promise<ReplaySummary> {
  const speed = opts.speed ?? "original";
  if (opts.subject !== undefined) checkSubjectFilter(opts.subject, "subject");
  const factor = speed === "original" ? 1 : speed === "max" ? 0 : speed;
  const reader = await RecordingReader.open(file);
  const sender = new ReplaySender(conn, opts.freshIds === true, opts.requests);
  const bySubject: Record<string, number> = {};
  let read = 0;
  let published = 0;
  let skippedByFilter = 0;
  let skippedByRemap = 0;
  let aborted = false;
  let stoppedAt: ReplayStop | null = null;
  let formatError: RecordingFormatError | undefined;
  let baseOffsetUs: number | undefined;
  let startNs = 0n;
  let startedAt = 0;
  try {
    for await (const frame of reader) {
      const index = read++;
      if (opts.signal?.aborted) {
        aborted = true;
        break;
      }
      if (opts.subject !== undefined && !subjectMatches(opts.subject, frame.subject)) {
        skippedByFilter++;
        continue;
      }
      const subject = opts.remap ? remapSubject(opts.remap, frame.subject) : frame.subject;
      if (subject === null) {
        skippedByRemap++;
        continue;
      }
      if (baseOffsetUs === undefined) {
        baseOffsetUs = frame.offsetUs;
        startNs = process.hrtime.bigint();
        startedAt = Date.now();
      } else if (factor > 0) {
        const dueNs = startNs + BigInt(Math.round(((frame.offsetUs - baseOffsetUs) * 1000) / factor));
        const waitMs = Number(dueNs - process.hrtime.bigint()) / 1e6;
        if (waitMs >= 1) await sleep(Math.floor(waitMs));
        if (opts.signal?.aborted) {
          aborted = true;
          break;
        }
      }
      await sender.send(index, subject, frame);
      published++;
      bySubject[subject] = (bySubject[subject] ?? 0) + 1;
      if (factor === 0 && published % MAX_SPEED_FLUSH_EVERY === 0) await conn.nc.flush();
    }
  } catch (err) {
    if (!(err instanceof RecordingFormatError)) throw err;
    formatError = err;
    stoppedAt = { frame: err.frame, offset: err.offset, truncated: err.truncated, reason: err.message };
  }
  await conn.nc.flush();
  const counts = await sender.settle();
  const summary: ReplaySummary = {
    file,
    speed,
    freshIds: opts.freshIds === true,
    read,
    published,
    skippedByFilter,
    skippedByRemap,
    durationMs: published === 0 ? 0 : Date.now() - startedAt,
    bySubject,
    aborted,
    ...counts,
    stoppedAt,
  };
  if (formatError !== undefined) throw new ReplayIncompleteError(summary, formatError);
  return summary;
}
