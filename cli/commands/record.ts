import type { Command } from "commander";
import type { BusConnection } from "../../bus/connection.ts";
import { startRecorder } from "../../bus/recording/recorder.ts";
import { connectFromFlags } from "../connect.ts";
import { errorText } from "../errors.ts";
import { durationMs, helpFooter, NATS_ENVIRONMENT, natsOption, repeated, usageError } from "../flags.ts";
import { nextStopSignal } from "../signals.ts";

/** `esper record --subjects F[,F...] --out FILE [--nats URL] [--duration-ms N]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Records every message on the subject filters (subject, reply subject, headers, exact payload bytes, " +
        "receive time) into a new recording file (format: bus/recording/README.md). Runs for --duration-ms, " +
        "or until SIGINT/SIGTERM; then flushes, fsyncs, closes the file and prints a JSON summary on stdout.",
    )
    .requiredOption(
      "--subjects <filter>",
      "NATS subject filter(s), e.g. 'esper.>' (repeatable or comma-separated)",
      repeated,
    )
    .requiredOption("--out <file>", "recording file to create (an existing file is never overwritten)")
    .addOption(natsOption())
    .option("--duration-ms <n>", "stop after N milliseconds", durationMs());
  helpFooter(cmd, {
    environment: NATS_ENVIRONMENT,
    exitCodes: {
      0: "recorded until the duration or a signal",
      1: "failed, or the NATS connection closed (the summary is printed)",
      2: "bad arguments",
    },
  });
}

/** `esper record`: records subjects to a file until a duration or a signal; prints a JSON summary. */
export async function action(cmd: Command): Promise<number> {
  const o = cmd.opts<{ subjects: string[]; out: string; nats?: string; durationMs?: number }>();
  const subjects = o.subjects.flatMap((s) => s.split(",")).map((s) => s.trim());
  if (subjects.includes("")) usageError(cmd, "--subjects needs at least one subject filter");
  if (o.out === "") usageError(cmd, "--out must not be empty");
  const { out } = o;
  const stopAfterMs = o.durationMs;
  const url = o.nats;
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
        if (stopAfterMs !== undefined) timer = setTimeout(() => resolve("duration"), stopAfterMs);
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
