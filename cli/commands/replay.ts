import type { Command } from "commander";
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
import { durationMs, helpFooter, jsonOption, NATS_ENVIRONMENT, natsOption, usageError } from "../flags.ts";
import { nextStopSignal } from "../signals.ts";

/** A reply as printed in the JSON summary (payload in base64). */
type PrintedReply =
  | (Omit<Extract<ReplayedReply, { outcome: "reply" }>, "payload"> & { readonly payloadBase64: string })
  | Exclude<ReplayedReply, { outcome: "reply" }>;

function printable(reply: ReplayedReply): PrintedReply {
  if (reply.outcome !== "reply") return reply;
  const { payload, ...rest } = reply;
  return { ...rest, payloadBase64: Buffer.from(payload).toString("base64") };
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

/** `esper replay FILE [--nats URL] [--speed S] [--subject F] [--remap old=new] [--fresh-ids] [--requests [--request-timeout-ms N]] [--json]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Publishes the frames of a recording back to NATS in file order, with their exact headers and payload " +
        "bytes, then prints a summary (counts per subject). SIGINT/SIGTERM stops between frames. A frame " +
        "carrying Nats-Msg-Id on a subject a JetStream stream captures is published through JetStream; its " +
        "acknowledgement counts it as stored, duplicate (dropped by the stream's duplicate window) or rejected.",
    )
    .argument("<file>", "the recording (.esperrec)")
    .addOption(natsOption())
    .option(
      "--speed <s>",
      "original (recorded gaps), max (no waiting) or a factor (2 = twice as fast)",
      "original",
    )
    .option("--subject <filter>", "publish only frames whose recorded subject matches this NATS filter")
    .option(
      "--remap <old=new>",
      "publish namespace 'old' under 'new' (the leading subject token); frames of other namespaces are skipped and counted",
    )
    .option(
      "--fresh-ids",
      "replace every Nats-Msg-Id header with a new unique id (a replay within a stream's duplicate window is otherwise dropped as duplicates)",
    )
    .option(
      "--requests",
      "re-issue frames that carry a recorded reply subject as requests and report each reply (without it they are published with the recorded reply subject)",
    )
    .option(
      "--request-timeout-ms <n>",
      "how long each re-issued request waits for its reply (default 2000)",
      durationMs(),
    )
    .addOption(jsonOption("print the summary as one JSON object (default: a short text line)"));
  helpFooter(cmd, {
    environment: NATS_ENVIRONMENT,
    exitCodes: {
      0: "every frame was replayed",
      1:
        "the file is truncated or corrupt after the header (the whole frames before it are replayed and the " +
        "summary printed, with stoppedAt), the server reported duplicates or rejected frames, or any other error",
      2: "bad usage",
      130: "stopped by a signal",
    },
  });
}

/** `esper replay`: publishes a recording back; prints a summary. */
export async function action(cmd: Command): Promise<number> {
  const file = cmd.args[0] as string;
  const o = cmd.opts<{
    nats?: string;
    speed: string;
    subject?: string;
    remap?: string;
    freshIds?: true;
    requests?: true;
    requestTimeoutMs?: number;
    json?: true;
  }>();
  if (o.requests !== true && o.requestTimeoutMs !== undefined) {
    usageError(cmd, "--request-timeout-ms needs --requests");
  }
  const url = o.nats;
  const json = o.json === true;
  const requestTimeoutMs = o.requests === true ? (o.requestTimeoutMs ?? 2_000) : undefined;
  let options: ReplayOptions;
  try {
    options = {
      speed: parseSpeed(o.speed),
      freshIds: o.freshIds === true,
      ...(o.subject !== undefined ? { subject: checkSubjectFilter(o.subject, "--subject") } : {}),
      ...(o.remap !== undefined ? { remap: parseRemap(o.remap) } : {}),
    };
  } catch (error) {
    usageError(cmd, (error as Error).message);
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
