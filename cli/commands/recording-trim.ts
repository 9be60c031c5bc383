import type { Command } from "commander";
import { trimRecording } from "../../harness/recordings/trim-recording.ts";
import { helpFooter, repeated } from "../flags.ts";

/** `esper recording trim IN OUT --subject FILTER [--subject FILTER]...`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Copies to OUT the messages of the recording IN whose subject matches a FILTER (NATS wildcards * and >), " +
        "in order and byte for byte. Makes the fixtures of harness/recordings from an `esper up` run. Prints " +
        "JSON {file, frames, bytes}.",
    )
    .argument("<in>", "the recording to read")
    .argument("<out>", "the recording to write (must not exist)")
    .requiredOption("--subject <filter>", "keep the messages on this subject filter (repeatable)", repeated)
    .addHelpText(
      "after",
      [
        "",
        "Example:",
        "  node bin/esper.js up --run-dir /tmp/run",
        "  node bin/esper.js recording trim /tmp/run/bus.esperrec harness/recordings/spirals-growth.esperrec \\",
        "    --subject 'esper.tamiyo.evaluate' --subject 'esper.decision.>' --subject 'esper.command.>'",
      ].join("\n"),
    );
  helpFooter(cmd, { exitCodes: { 0: "written", 1: "unreadable input or OUT exists", 2: "bad arguments" } });
}

/** `esper recording trim IN OUT --subject F...`: a recording filtered to some subjects. */
export async function action(cmd: Command): Promise<number> {
  const [input, output] = cmd.args as [string, string];
  const subjects = cmd.opts<{ subject: string[] }>().subject;
  const summary = await trimRecording(input, output, subjects);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return 0;
}
