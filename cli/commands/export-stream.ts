import type { Command } from "commander";
import type { BusConnection } from "../../bus/connection.ts";
import { exportStream } from "../../bus/recording/export-stream.ts";
import { checkSubjectFilter } from "../../bus/recording/subject-filter.ts";
import { connectFromFlags } from "../connect.ts";
import { errorText } from "../errors.ts";
import { helpFooter, NATS_ENVIRONMENT, natsOption, usageError } from "../flags.ts";

/** `esper export stream <name> --out FILE [--subject F] [--nats URL]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Exports a JetStream stream, from its first sequence to its last sequence at the time of the call, " +
        "into a new recording file (same format as esper record; frames carry the stream sequence and the " +
        "stream timestamp). Prints a JSON summary.",
    )
    .argument("<name>", "the stream")
    .requiredOption("--out <file>", "recording file to create (an existing file is never overwritten)")
    .option("--subject <filter>", "export only messages whose subject matches this NATS filter")
    .addOption(natsOption());
  helpFooter(cmd, {
    environment: NATS_ENVIRONMENT,
    exitCodes: { 0: "exported", 1: "failed (the reason is printed)", 2: "bad arguments" },
  });
}

/** `esper export stream`: exports a JetStream stream to a recording file; prints a JSON summary. */
export async function action(cmd: Command): Promise<number> {
  const stream = cmd.args[0] as string;
  const o = cmd.opts<{ out: string; subject?: string; nats?: string }>();
  if (o.out === "") usageError(cmd, "--out must not be empty");
  const out = o.out;
  const url = o.nats;
  let subject: string | undefined;
  try {
    subject = o.subject === undefined ? undefined : checkSubjectFilter(o.subject, "--subject");
  } catch (error) {
    usageError(cmd, (error as Error).message);
  }
  let conn: BusConnection | undefined;
  try {
    conn = await connectFromFlags(url, "esper-export-stream");
    const summary = await exportStream(conn, { stream, out, ...(subject !== undefined ? { subject } : {}) });
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`esper export stream: ${errorText(error)}\n`);
    return 1;
  } finally {
    await conn?.close();
  }
}
