import { parseArgs } from "node:util";
import type { BusConnection } from "../../bus/connection.ts";
import { parseSpeed, type ReplayOptions, replayRecording } from "../../bus/recording/replayer.ts";
import { checkSubjectFilter, parseRemap } from "../../bus/recording/subject-filter.ts";
import { connectFromFlags } from "../connect.ts";
import { errorText } from "../errors.ts";
import { nextStopSignal } from "../signals.ts";

const HELP = `usage: esper replay <file.esperrec> [--url nats://...] [--speed original|max|<factor>] [--subject <filter>] [--remap old=new] [--json]

Publishes the frames of a recording back to NATS in file order, with their exact headers and payload
bytes, then prints a summary (counts per subject). SIGINT/SIGTERM stops between frames.

  --speed S        original (recorded gaps, default), max (no waiting) or a factor (2 = twice as fast)
  --subject F      publish only frames whose recorded subject matches this NATS filter
  --remap old=new  publish namespace 'old' under 'new' (the leading subject token); frames of other
                   namespaces are skipped and counted
  --url URL        NATS server URL(s), comma-separated (default: ESPER_NATS_URL, else nats://127.0.0.1:4222)
  --json           print the summary as one JSON object (default: a short text line)`;

/** `esper replay`: publishes a recording back; prints a summary. */
export async function run(args: readonly string[]): Promise<number> {
  let file: string;
  let url: string | undefined;
  let json: boolean;
  let options: ReplayOptions;
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: {
        url: { type: "string" },
        speed: { type: "string" },
        subject: { type: "string" },
        remap: { type: "string" },
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
    file = first;
    url = values.url;
    json = values.json === true;
    options = {
      speed: parseSpeed(values.speed ?? "original"),
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
  let conn: BusConnection | undefined;
  try {
    conn = await connectFromFlags(url, "esper-replay");
    const summary = await replayRecording(conn, file, { ...options, signal: abort.signal });
    if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      process.stdout.write(
        `replayed ${summary.published} of ${summary.read} frames from ${file} in ${summary.durationMs} ms` +
          ` (skipped: ${summary.skippedByFilter} by --subject, ${summary.skippedByRemap} by --remap)` +
          `${summary.aborted ? ", stopped by signal" : ""}\n`,
      );
    }
    if (summary.skippedByRemap > 0) {
      process.stderr.write(
        `esper replay: ${summary.skippedByRemap} frame(s) were outside the --remap namespace and not published\n`,
      );
    }
    return summary.aborted ? 130 : 0;
  } catch (error) {
    process.stderr.write(`esper replay: ${errorText(error)}\n`);
    return 1;
  } finally {
    stop.dispose();
    await conn?.close();
  }
}
