import type { ConsumerMessages, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import { CONTRACT_VERSION } from "../../contracts/budgets.ts";
import type { BusConnection } from "../connection.ts";
import { jetStreamManagerOf } from "../jetstream/context.ts";
import type { RecordedFrame } from "./format.ts";
import { headersOf } from "./recorder.ts";
import { checkSubjectFilter, namespaceOfFilters } from "./subject-filter.ts";
import { RecordingWriter, type WriterOptions } from "./writer.ts";

/** Options of {@link exportStream}. */
export interface ExportStreamOptions {
  /** JetStream stream name. */
  readonly stream: string;
  /** The recording file to create (an existing file is not overwritten). */
  readonly out: string;
  /** Export only messages whose subject matches this NATS filter. */
  readonly subject?: string;
  /** Written into the header record; default `esper export stream`. */
  readonly tool?: string;
  /** Buffering of the file writer. */
  readonly writer?: WriterOptions;
}

/** What an export wrote. */
export interface ExportSummary {
  readonly out: string;
  readonly stream: string;
  /** Stream sequence range considered (the stream's first and last sequence at the time of the call). */
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly frames: number;
  /** File size in bytes. */
  readonly bytes: number;
}

/**
 * Exports the messages of a JetStream stream, from its first sequence to its last sequence at the
 * time of the call (optionally only those matching `subject`), into a new recording file, in stream
 * order, through an ephemeral ordered pull consumer (nats-server 2.9+). Each frame carries the
 * stream sequence and no reply subject (a stream does not keep the publisher's); `receivedAtMs` is the stream timestamp and `offsetUs` is measured from the first
 * exported message's timestamp (kept non-decreasing).
 */
export async function exportStream(conn: BusConnection, opts: ExportStreamOptions): Promise<ExportSummary> {
  if (opts.subject !== undefined) checkSubjectFilter(opts.subject, "subject");
  const jsm = await jetStreamManagerOf(conn);
  const info = await jsm.streams.info(opts.stream).catch((err: unknown) => {
    throw new Error(`stream '${opts.stream}': ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  });
  const { first_seq: firstSeq, last_seq: lastSeq, messages } = info.state;
  const subjects = opts.subject !== undefined ? [opts.subject] : [...(info.config.subjects ?? [])];
  const writer = await RecordingWriter.create(
    opts.out,
    {
      namespace: namespaceOfFilters(subjects),
      subjects,
      contractVersion: CONTRACT_VERSION,
      tool: opts.tool ?? "esper export stream",
      source: { kind: "stream", stream: opts.stream, firstSeq, lastSeq },
    },
    opts.writer,
  );
  try {
    if (messages > 0) await copyMessages(jsm, opts, firstSeq, lastSeq, writer);
  } finally {
    await writer.close();
  }
  return {
    out: opts.out,
    stream: opts.stream,
    firstSeq,
    lastSeq,
    frames: writer.frames,
    bytes: writer.bytes,
  };
}

async function copyMessages(
  jsm: JetStreamManager,
  opts: ExportStreamOptions,
  firstSeq: number,
  lastSeq: number,
  writer: RecordingWriter,
): Promise<void> {
  const js = jsm.jetstream();
  const consumer = await js.consumers.get(opts.stream, {
    opt_start_seq: firstSeq,
    ...(opts.subject !== undefined ? { filter_subjects: opts.subject } : {}),
  });
  try {
    if ((await consumer.info(true)).num_pending === 0) return;
    const iter = await consumer.consume({ max_messages: 256 });
    const failure = await appendUntil(iter, lastSeq, writer).then(
      () => undefined,
      (err: unknown) => err ?? new Error("stream export failed"),
    );
    const closeError = await iter.close();
    if (failure !== undefined) throw failure;
    if (closeError instanceof Error) throw closeError;
  } finally {
    await consumer.delete();
  }
}

/** Appends messages until the last sequence of the call or until nothing is pending. */
async function appendUntil(iter: ConsumerMessages, lastSeq: number, writer: RecordingWriter): Promise<void> {
  let firstNs: bigint | undefined;
  let lastOffsetUs = 0;
  for await (const m of iter) {
    if (m.seq > lastSeq) return;
    firstNs ??= m.timestampNanos;
    lastOffsetUs = Math.max(lastOffsetUs, Number((m.timestampNanos - firstNs) / 1000n));
    writer.append(frameOf(m, lastOffsetUs));
    if (m.seq >= lastSeq || m.info.pending === 0) return;
  }
}

function frameOf(m: JsMsg, offsetUs: number): RecordedFrame {
  return {
    subject: m.subject,
    reply: null,
    headers: headersOf(m),
    payload: m.data,
    receivedAtMs: Number(m.timestampNanos / 1_000_000n),
    offsetUs,
    streamSeq: m.seq,
  };
}
