import type { Command } from "commander";
import { goldenDifferences, readGolden, writeGolden } from "../../harness/recordings/golden-file.ts";
import {
  replayTamiyo,
  SPIRALS_RECORDING,
  SPIRALS_TAMIYO_GOLDEN,
} from "../../harness/recordings/tamiyo-replay.ts";
import { helpFooter } from "../flags.ts";

/** `esper golden tamiyo [--update]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Replays the evaluate requests of harness/recordings/spirals-growth.esperrec into Tamiyo's evaluator " +
        "(recorded clock, seeded ids) and compares the encoded replies byte for byte with " +
        "harness/recordings/spirals-growth.tamiyo-golden.jsonl. Prints JSON: ok, the number of decisions and " +
        "commands, and each decision that differs (index, packet id, golden and replayed summary).",
    )
    .option(
      "--update",
      "rewrite the golden file from this replay (after an intended change of the policy, features or risk engine); prints what it wrote",
    );
  helpFooter(cmd, {
    exitCodes: { 0: "every decision as golden (or rewritten)", 1: "a decision differs", 2: "bad arguments" },
  });
}

/** `esper golden tamiyo [--update]`: checks (or rewrites) Tamiyo's replay golden file. */
export async function action(cmd: Command): Promise<number> {
  const values = cmd.opts<{ update?: true }>();
  const replayed = await replayTamiyo(SPIRALS_RECORDING);
  const commands = replayed.filter((d) => d.summary.startsWith("germinate")).length;
  if (values.update) {
    await writeGolden(SPIRALS_TAMIYO_GOLDEN, replayed);
    const report = { updated: SPIRALS_TAMIYO_GOLDEN, decisions: replayed.length, commands };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  const differences = goldenDifferences(await readGolden(SPIRALS_TAMIYO_GOLDEN), replayed);
  const report = {
    ok: differences.length === 0,
    golden: SPIRALS_TAMIYO_GOLDEN,
    decisions: replayed.length,
    commands,
    differences,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return report.ok ? 0 : 1;
}
