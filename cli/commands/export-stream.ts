import { parseArgs } from "node:util";
import type { BusConnection } from "../../bus/connection.ts";
import { exportStream } from "../../bus/recording/export-stream.ts";
import { checkSubjectFilter } from "../../bus/recording/subject-filter.ts";
import { connectFromFlags } from "../connect.ts";
import { errorText } from "../errors.ts";

const HELP = `usage: esper export stream <name> --out <file.esperrec> [--subject <filter>] [--nats nats://...]

Exports a JetStream stream, from its first sequence to its last sequence at the time of the call,
into a new recording file (same format as esper record; frames carry the stream sequence and the
stream timestamp). Prints a JSON summary.

  --out FILE     recording file to create (an existing file is never overwritten)
  --subject F    export only messages whose subject matches this NATS filter
  --nats URL     NATS server URL(s), comma-separated (default: ESPER_NATS_URL, else nats://127.0.0.1:4222)`;

/** `esper export stream`: exports a JetStream stream to a recording file; prints a JSON summary. */
export async function run(args: readonly string[]): Promise<number> {
  let stream: string;
  let out: string;
  let url: string | undefined;
  let subject: string | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: {
        out: { type: "string" },
        subject: { type: "string" },
        nats: { type: "string" },
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
    if (first === undefined || rest.length > 0) throw new Error("expected exactly one stream name");
    if (values.out === undefined || values.out === "") throw new Error("--out is required");
    stream = first;
    out = values.out;
    url = values.nats;
    subject = values.subject === undefined ? undefined : checkSubjectFilter(values.subject, "--subject");
  } catch (error) {
    process.stderr.write(`esper export stream: ${(error as Error).message}\n${HELP}\n`);
    return 2;
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
