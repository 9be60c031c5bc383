import { setTimeout as sleep } from "node:timers/promises";
import { headers as natsHeaders } from "@nats-io/transport-node";
import type { BusConnection } from "../connection.ts";
import type { RecordedFrame } from "./format.ts";
import { RecordingReader } from "./reader.ts";
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
  /** Stops the replay between frames; the summary then has `aborted: true`. */
  readonly signal?: AbortSignal;
}

/** What a replay did. */
export interface ReplaySummary {
  readonly file: string;
  readonly speed: ReplaySpeed;
  /** Frames read from the file. */
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
}

/** How many frames are published at `max` speed between flushes (bounds client-side buffering). */
const MAX_SPEED_FLUSH_EVERY = 1000;

/**
 * Publishes the frames of a recording on `conn`, in file order, with their exact headers and payload
 * bytes. At `original` speed (or a factor) each frame is sent at its recorded offset from the first
 * published frame (divided by the factor), on an absolute schedule so waits do not accumulate drift.
 * Ends with a flush, so everything has reached the server when it resolves.
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
  const bySubject: Record<string, number> = {};
  let read = 0;
  let published = 0;
  let skippedByFilter = 0;
  let skippedByRemap = 0;
  let aborted = false;
  let baseOffsetUs: number | undefined;
  let startNs = 0n;
  let startedAt = 0;
  for await (const frame of reader) {
    read++;
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
    publish(conn, subject, frame);
    published++;
    bySubject[subject] = (bySubject[subject] ?? 0) + 1;
    if (factor === 0 && published % MAX_SPEED_FLUSH_EVERY === 0) await conn.nc.flush();
  }
  await conn.nc.flush();
  return {
    file,
    speed,
    read,
    published,
    skippedByFilter,
    skippedByRemap,
    durationMs: published === 0 ? 0 : Date.now() - startedAt,
    bySubject,
    aborted,
  };
}

function publish(conn: BusConnection, subject: string, frame: RecordedFrame): void {
  const names = Object.keys(frame.headers);
  if (names.length === 0) {
    conn.nc.publish(subject, frame.payload);
  } else {
    const h = natsHeaders();
    for (const name of names) for (const value of frame.headers[name] ?? []) h.append(name, value);
    conn.nc.publish(subject, frame.payload, { headers: h });
  }
  conn.metrics.published(subject);
}
