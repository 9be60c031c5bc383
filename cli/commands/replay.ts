import { parseArgs } from "node:util";
import type { BusConnection } from "../../bus/connection.ts";
import type { ReplayedReply } from "../../bus/recording/replay-sender.ts";
import {
  parseSpeed,
  ReplayIncompleteError,
  type ReplayOptions,
  type ReplaySummary,
  replayRecording,
} from "../../bus/recording/replayer.ts";
import { checkSubjectFilter, parseRemap } from "../../bus/recording/subject-filter.ts";
import { connectFromFlags } from "../connect.ts";
import { errorText } from "../errors.ts";
import { nextStopSignal } from "../signals.ts";

const HELP = `usage: esper replay <file.esperrec> [--nats nats://...] [--speed original|max|<factor>] [--subject <filter>] [--remap old=new] [--fresh-ids] [--requests [--request-timeout-ms N]] [--json]

Publishes the frames of a recording back to NATS in file order, with their exact headers and payload
bytes, then prints a summary (counts per subject). SIGINT/SIGTERM stops between frames. A frame
carrying Nats-Msg-Id on a subject a JetStream stream captures is published through JetStream; its
acknowledgement counts it as stored, duplicate (dropped by the stream's duplicate window) or rejected.

  --speed S        original (recorded gaps, default), max (no waiting) or a factor (2 = twice as fast)
  --subject F      publish only frames whose recorded subject matches this NATS filter
  --remap old=new  publish namespace 'old' under 'new' (the leading subject token); frames of other
                   namespaces are skipped and counted
  --fresh-ids      replace every Nats-Msg-Id header with a new unique id (a replay within a stream's
                   duplicate window is otherwise dropped as duplicates)
  --requests       re-issue frames that carry a recorded reply subject as requests and report each
                   reply (without it they are published with the recorded reply subject)
  --request-timeout-ms N  how long each re-issued request waits for its reply (default 2000)
  --nats URL       NATS server URL(s), comma-separated (default: ESPER_NATS_URL, else nats://127.0.0.1:4222)
  --json           print the summary as one JSON object (default: a short text line)

Exit status: 0 when every frame was replayed; 1 when the file is truncated or corrupt after the
header (the whole frames before it are replayed and the summary printed, with stoppedAt), when the
server reported duplicates or rejected frames, or on any other error; 2 for bad usage; 130 when
stopped by a signal.`;

/** A reply as printed in the JSON summary (payload in base64). */
type PrintedReply =
  | (Omit<Extract<ReplayedReply, { outcome: "reply" }>, "payload"> & { readonly payloadBase64: string })
  | Exclude<ReplayedReply, { outcome: "reply" }>;

function printable(reply: ReplayedReply): PrintedReply {
  if (reply.outcome !== "reply") return reply;
  const { payload, ...rest } = reply;
  return { ...rest, payloadBase64: Buffer.from(payload).toString("base64") };
}

function timeoutOf(value: string | undefined): number {
  if (value === undefined) return 2_000;
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new Error(`--request-timeout-ms must be a positive integer, got '${value}'`);
  }
  return Number(value);
}

function printSummary(
  summary: ReplaySummary,
  replies: readonly ReplayedReply[],
  json: boolean,
  withReplies: boolean,
): void {
  if (json) {
    const printed = withReplies ? { ...summary, replies: replies.map(printable) } : summary;
    process.stdout.write(`${JSON.stringify(printed)}\n`);
    return;
  }
  for (const r of [...replies].sort((a, b) => a.frame - b.frame)) {
    const what = r.outcome === "reply" ? `reply of ${r.payload.length} bytes` : `${r.outcome}: ${r.error}`;
    process.stdout.write(`frame #${r.frame} request on ${r.subject}: ${what} after ${r.latencyMs} ms\n`);
  }
  const stop = summary.stoppedAt;
  process.stdout.write(
    `replayed ${summary.published} of ${summary.read} frames from ${summary.file} in ${summary.durationMs} ms` +
      ` (skipped: ${summary.skippedByFilter} by --subject, ${summary.skippedByRemap} by --remap;` +
      ` JetStream: ${summary.stored} stored, ${summary.duplicates} duplicate, ${summary.rejected} rejected;` +
      ` requests: ${summary.requests} re-issued, ${summary.replies} replied)` +
      `${summary.aborted ? ", stopped by signal" : ""}` +
      `${stop === null ? "" : `, ${stop.truncated ? "truncated" : "corrupt"} at byte ${stop.offset}`}\n`,
  );
}

/** `esper replay`: publishes a recording back; prints a summary. */
export async function run(args: readonly string[]): Promise<number> {
  let file: string;
  let url: string | undefined;
  let json: boolean;
  let requestTimeoutMs: number | undefined;
  let options: ReplayOptions;
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: {
        nats: { type: "string" },
        speed: { type: "string" },
        subject: { type: "string" },
        remap: { type: "string" },
        "fresh-ids": { type: "boolean" },
        requests: { type: "boolean" },
        "request-timeout-ms": { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    const [first, ...rest] = positionals;
    if (first === undefined || rest.length > 0) throw new Error("expected exactly one recording file");
    if (values.requests !== true && values["request-timeout-ms"] !== undefined) {
      throw new Error("--request-timeout-ms needs --requests");
    }
    file = first;
    url = values.nats;
    json = values.json === true;
    requestTimeoutMs = values.requests === true ? timeoutOf(values["request-timeout-ms"]) : undefined;
    options = {
      speed: parseSpeed(values.speed ?? "original"),
      freshIds: values["fresh-ids"] === true,
      ...(values.subject !== undefined ? { subject: checkSubjectFilter(values.subject, "--subject") } : {}),
      ...(values.remap !== undefined ? { remap: parseRemap(values.remap) } : {}),
    };
  } catch (error) {
    process.stderr.write(`esper replay: ${(error as Error).message}\n${HELP}\n`);
    return 2;
  }

  const stop = nextStopSignal();
  const abort = new AbortController();
  void stop.signal.then(() => abort.abort());
  const replies: ReplayedReply[] = [];
  const requests =
    requestTimeoutMs === undefined
      ? {}
      : { requests: { timeoutMs: requestTimeoutMs, onReply: (r: ReplayedReply) => replies.push(r) } };
  let conn: BusConnection | undefined;
  try {
    conn = await connectFromFlags(url, "esper-replay");
    let summary: ReplaySummary;
    try {
      summary = await replayRecording(conn, file, { ...options, ...requests, signal: abort.signal });
    } catch (error) {
      if (!(error instanceof ReplayIncompleteError)) throw error;
      printSummary(error.summary, replies, json, requestTimeoutMs !== undefined);
      process.stderr.write(`esper replay: ${errorText(error)}\n`);
      return 1;
    }
    printSummary(summary, replies, json, requestTimeoutMs !== undefined);
    if (summary.skippedByRemap > 0) {
      process.stderr.write(
        `esper replay: ${summary.skippedByRemap} frame(s) were outside the --remap namespace and not published\n`,
      );
    }
    if (summary.duplicates > 0) {
      process.stderr.write(
        `esper replay: ${summary.duplicates} frame(s) were dropped by JetStream as duplicates (their Nats-Msg-Id is within the stream's duplicate window); use --fresh-ids to store them again\n`,
      );
    }
    if (summary.rejected > 0) {
      const first = summary.rejections[0];
      process.stderr.write(
        `esper replay: JetStream rejected ${summary.rejected} frame(s)${first === undefined ? "" : `; first: frame #${first.frame} on ${first.subject}: ${first.reason}`}\n`,
      );
    }
    if (summary.aborted) return 130;
    return summary.duplicates > 0 || summary.rejected > 0 ? 1 : 0;
  } catch (error) {
    process.stderr.write(`esper replay: ${errorText(error)}\n`);
    return 1;
  } finally {
    stop.dispose();
    await conn?.close();
  }
}
