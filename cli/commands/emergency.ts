import { parseArgs } from "node:util";
import { SystemLimits } from "../../contracts/budgets.ts";
import { CommandType } from "../../contracts/enums.ts";
import { errorText } from "../errors.ts";
import { CommandSpecError, emergencyLevel, type OperatorCommandSpec } from "./command-build.ts";
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  CommandExit,
  msFlag,
  publishOperatorCommand,
} from "./command-publish.ts";

const HELP = `usage: esper emergency LEVEL --run ID [--reason TEXT] [options]

Escalates run ID to LEVEL (NOTICE, ELEVATED, CONSERVATIVE or HALT): a signed EMERGENCY
AdaptationCommand for Tolaria (the same as \`esper command --emergency LEVEL\`); prints its id.

  --run ID          the training run (esper up says it at start: \`run <id>\`)
  --reason TEXT     why (default: "operator emergency LEVEL")
${COMMON_HELP}`;

/** `esper emergency LEVEL --run ID`: a signed emergency command to Tolaria; see HELP. */
export async function run(args: readonly string[]): Promise<number> {
  let spec: OperatorCommandSpec;
  let values: Record<string, string | boolean | undefined>;
  let waitMs: number | undefined;
  let freshness: number;
  let deadline: number;
  try {
    const parsed = parseArgs({
      args: [...args],
      options: {
        ...COMMON_OPTIONS,
      },
      strict: true,
      allowPositionals: true,
    });
    values = parsed.values;
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return CommandExit.ok;
    }
    const [levelName, ...extra] = parsed.positionals;
    if (levelName === undefined)
      throw new CommandSpecError("give the LEVEL (NOTICE, ELEVATED, CONSERVATIVE, HALT)");
    if (extra.length > 0) throw new CommandSpecError(`unexpected argument(s) ${extra.join(" ")}`);
    const runId = parsed.values.run;
    if (runId === undefined) throw new CommandSpecError("--run is required (the training run to escalate)");
    const level = emergencyLevel(levelName);
    spec = {
      runId,
      commandType: CommandType.EMERGENCY,
      payload: {
        kind: "emergency",
        level,
        reason: parsed.values.reason ?? `operator emergency ${levelName.toUpperCase()}`,
      },
      ...(parsed.values.id !== undefined ? { commandId: parsed.values.id } : {}),
    };
    freshness = msFlag("--freshness", parsed.values.freshness, 60_000, SystemLimits.maxCommandFreshnessMs);
    deadline = msFlag("--deadline", parsed.values.deadline, 5_000, 2 ** 32 - 1);
    if (parsed.values.wait === true)
      waitMs = msFlag("--wait-timeout", parsed.values["wait-timeout"], 30_000, 600_000);
    else if (parsed.values["wait-timeout"] !== undefined)
      throw new CommandSpecError("--wait-timeout needs --wait");
  } catch (error) {
    process.stderr.write(`esper emergency: ${errorText(error)}\n${HELP}\n`);
    return CommandExit.badArgs;
  }
  return publishOperatorCommand("emergency", spec, {
    target: (values.target as string | undefined) ?? "tolaria",
    timing: { freshnessWindowMs: freshness, executionDeadlineMs: deadline },
    json: values.json === true,
    ...(values.nats !== undefined ? { nats: values.nats as string } : {}),
    ...(waitMs !== undefined ? { waitMs } : {}),
  });
}
