import { parseArgs } from "node:util";
import type { BusConnection } from "../../bus/connection.ts";
import { startRecorder } from "../../bus/recording/recorder.ts";
import { connectFromFlags } from "../connect.ts";
import { errorText } from "../errors.ts";
import { nextStopSignal } from "../signals.ts";

const HELP = `usage: esper record --subjects <filter>[,<filter>...] --out <file.esperrec> [--nats nats://...] [--duration-ms N]

Records every message on the subject filters (subject, reply subject, headers, exact payload bytes,
receive time) into a new recording file (format: bus/recording/README.md). Runs for --duration-ms, or until
SIGINT/SIGTERM; then flushes, fsyncs, closes the file and prints a JSON summary on stdout.

  --subjects F     NATS subject filter(s), e.g. 'esper.>' (repeatable or comma-separated)
  --out FILE       recording file to create (an existing file is never overwritten)
  --nats URL       NATS server URL(s), comma-separated (default: ESPER_NATS_URL, else nats://127.0.0.1:4222)
  --duration-ms N  stop after N milliseconds`;

function durationOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new Error(`--duration-ms must be a positive integer, got '${value}'`);
  }
  return Number(value);
}

/** `esper record`: records subjects to a file until a duration or a signal; prints a JSON summary. */
export async function run(args: readonly string[]): Promise<number> {
  let subjects: string[];
  let out: string;
  let url: string | undefined;
  let durationMs: number | undefined;
  try {
    const { values } = parseArgs({
      args: [...args],
      options: {
        subjects: { type: "string", multiple: true },
        out: { type: "string" },
        nats: { type: "string" },
        "duration-ms": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    subjects = (values.subjects ?? []).flatMap((s) => s.split(",")).map((s) => s.trim());
    if (subjects.length === 0 || subjects.includes(""))
      throw new Error("--subjects needs at least one subject filter");
    if (values.out === undefined || values.out === "") throw new Error("--out is required");
    out = values.out;
    url = values.nats;
    durationMs = durationOf(values["duration-ms"]);
  } catch (error) {
    process.stderr.write(`esper record: ${(error as Error).message}\n${HELP}\n`);
    return 2;
  }

  const stop = nextStopSignal();
  let timer: NodeJS.Timeout | undefined;
  let conn: BusConnection | undefined;
  try {
    conn = await connectFromFlags(url, "esper-record");
    const recorder = await startRecorder(conn, { subjects, out });
    process.stderr.write(`esper record: recording ${subjects.join(", ")} to ${out}\n`);
    const ended = await Promise.race([
      stop.signal,
      conn.closed.then(() => "connection closed" as const),
      new Promise<"duration">((resolve) => {
        if (durationMs !== undefined) timer = setTimeout(() => resolve("duration"), durationMs);
      }),
    ]);
    const summary = await recorder.stop();
    process.stdout.write(`${JSON.stringify({ ...summary, stoppedBy: ended })}\n`);
    if (ended === "connection closed") {
      process.stderr.write("esper record: the NATS connection closed; recording stopped\n");
      return 1;
    }
    return 0;
  } catch (error) {
    process.stderr.write(`esper record: ${errorText(error)}\n`);
    return 1;
  } finally {
    clearTimeout(timer);
    stop.dispose();
    await conn?.close();
  }
}
