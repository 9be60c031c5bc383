import type { Msg, MsgHdrs, Subscription } from "@nats-io/transport-node";
import { CONTRACT_VERSION } from "../../contracts/budgets.ts";
import type { BusConnection } from "../connection.ts";
import { settlesWithin } from "../settles-within.ts";
import { checkSubjectFilter, namespaceOfFilters } from "./subject-filter.ts";
import { RecordingWriter, type WriterOptions } from "./writer.ts";

/** Options of {@link startRecorder}. */
export interface RecorderOptions {
  /** NATS subject filters to record, e.g. `["esper.>"]`. */
  readonly subjects: readonly string[];
  /** The recording file to create (an existing file is not overwritten). */
  readonly out: string;
  /** Written into the header record; default `esper record`. */
  readonly tool?: string;
  /** Buffering of the file writer. */
  readonly writer?: WriterOptions;
  /** Longest wait for the subscriptions to drain on stop (e.g. while disconnected); default 2000 ms. */
  readonly drainTimeoutMs?: number;
}

/** What a stopped recorder wrote. */
export interface RecordSummary {
  readonly out: string;
  readonly subjects: readonly string[];
  readonly frames: number;
  /** File size in bytes. */
  readonly bytes: number;
  /** From start to stop, in milliseconds. */
  readonly durationMs: number;
  /** Frames per subject. */
  readonly bySubject: Readonly<Record<string, number>>;
  /**
   * True when the subscriptions drained (every message the server had sent before the stop was
   * recorded); false when the connection was closed or the drain timed out (then they were unsubscribed).
   */
  readonly drained: boolean;
}

/** A running recorder: every message on its subject filters is appended to the file until `stop`. */
export interface Recorder {
  /** Frames appended so far. */
  readonly frames: number;
  /** Unsubscribes (after delivering what already arrived), flushes, fsyncs and closes the file. Safe to call twice. */
  stop(): Promise<RecordSummary>;
}

/** Copies NATS headers into the recording's name → values map. */
export function headersOf(msg: { readonly headers?: MsgHdrs | undefined }): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (msg.headers) for (const [name, values] of msg.headers) out[name] = [...values];
  return out;
}

/**
 * Subscribes to every subject filter on `conn` and appends each message (subject, reply subject,
 * headers, exact payload bytes, wall-clock receive time, monotonic offset) to a new recording file. Resolves once
 * the server has registered the subscriptions. A subscription or write error makes `stop` reject.
 */
export async function startRecorder(conn: BusConnection, opts: RecorderOptions): Promise<Recorder> {
  if (opts.subjects.length === 0) throw new Error("subjects: at least one subject filter is required");
  for (const s of opts.subjects) checkSubjectFilter(s, "subjects");
  const writer = await RecordingWriter.create(
    opts.out,
    {
      namespace: namespaceOfFilters(opts.subjects),
      subjects: [...opts.subjects],
      contractVersion: CONTRACT_VERSION,
      tool: opts.tool ?? "esper record",
      source: { kind: "subscription" },
    },
    opts.writer,
  );
  const startedAt = Date.now();
  const start = process.hrtime.bigint();
  const bySubject: Record<string, number> = {};
  let failure: unknown;
  const onMessage = (err: Error | null, msg: Msg): void => {
    if (failure !== undefined) return;
    if (err) {
      failure = err;
      return;
    }
    try {
      writer.append({
        subject: msg.subject,
        reply: msg.reply === undefined || msg.reply === "" ? null : msg.reply,
        headers: headersOf(msg),
        payload: msg.data,
        receivedAtMs: Date.now(),
        offsetUs: Number((process.hrtime.bigint() - start) / 1000n),
      });
      bySubject[msg.subject] = (bySubject[msg.subject] ?? 0) + 1;
      conn.metrics.received(msg.subject);
    } catch (e) {
      failure = e;
    }
  };
  const subs: Subscription[] = opts.subjects.map((s) => conn.nc.subscribe(s, { callback: onMessage }));
  await conn.nc.flush();

  let stopping: Promise<RecordSummary> | undefined;
  let drained = false;
  const stop = async (): Promise<RecordSummary> => {
    try {
      drained = conn.nc.isClosed() ? false : await drainWithin(subs, opts.drainTimeoutMs ?? 2_000);
    } finally {
      await writer.close();
    }
    if (failure !== undefined) throw new Error(`recording to '${opts.out}' failed`, { cause: failure });
    return {
      out: opts.out,
      subjects: [...opts.subjects],
      frames: writer.frames,
      bytes: writer.bytes,
      durationMs: Date.now() - startedAt,
      bySubject,
      drained,
    };
  };
  return {
    get frames() {
      return writer.frames;
    },
    stop: () => {
      stopping ??= stop();
      return stopping;
    },
  };
}

/** Drains the subscriptions; on timeout unsubscribes them instead. True when every drain completed. */
async function drainWithin(subs: readonly Subscription[], timeoutMs: number): Promise<boolean> {
  const done = await settlesWithin(Promise.all(subs.map((s) => s.drain())), timeoutMs);
  if (!done) for (const s of subs) if (!s.isClosed()) s.unsubscribe();
  return done;
}
