import { parseArgs } from "node:util";
import { trimRecording } from "../../harness/recordings/trim-recording.ts";

const HELP = `usage: esper recording trim IN OUT --subject FILTER [--subject FILTER]...

Copies to OUT the messages of the recording IN whose subject matches a FILTER (NATS wildcards * and >),
in order and byte for byte. Makes the fixtures of harness/recordings from an \`esper up\` run, e.g.

  node bin/esper.js up --run-dir /tmp/run
  node bin/esper.js recording trim /tmp/run/bus.esperrec harness/recordings/spirals-growth.esperrec \\
    --subject 'esper.tamiyo.evaluate' --subject 'esper.decision.>' --subject 'esper.command.>'

Prints JSON {file, frames, bytes}. Exit 0 written, 1 unreadable input or OUT exists, 2 bad arguments.`;

/** `esper recording trim IN OUT --subject F...`: a recording filtered to some subjects. */
export async function run(args: readonly string[]): Promise<number> {
  let parsed: { values: { subject?: string[]; help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...args],
      options: { subject: { type: "string", multiple: true }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    process.stderr.write(`esper recording trim: ${(error as Error).message}\n${HELP}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const [input, output, ...extra] = parsed.positionals;
  const subjects = parsed.values.subject ?? [];
  if (input === undefined || output === undefined || extra.length > 0 || subjects.length === 0) {
    process.stderr.write(`esper recording trim: IN, OUT and at least one --subject are required\n${HELP}\n`);
    return 2;
  }
  const summary = await trimRecording(input, output, subjects);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return 0;
}
