import type { Command } from "commander";
import { CommandType } from "../../contracts/enums.ts";
import { errorText } from "../errors.ts";
import { CommandSpecError, emergencyLevel, type OperatorCommandSpec } from "./command-build.ts";
import {
  CommandExit,
  type CommonFlags,
  defineCommonFlags,
  publishOperatorCommand,
  waitOf,
} from "./command-publish.ts";

/** `esper emergency LEVEL --run ID [--reason TEXT] [options]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Escalates run ID to LEVEL (NOTICE, ELEVATED, CONSERVATIVE or HALT): a signed EMERGENCY " +
        "AdaptationCommand for Tolaria (the same as `esper command --emergency LEVEL`); prints its id.",
    )
    .argument("<level>", "NOTICE, ELEVATED, CONSERVATIVE or HALT")
    .option("--run <id>", "the training run (esper up says it at start: `run <id>`)")
    .option("--reason <text>", 'why (default: "operator emergency LEVEL")');
  defineCommonFlags(cmd);
}

/** `esper emergency LEVEL --run ID`: a signed emergency command to Tolaria. */
export async function action(cmd: Command): Promise<number> {
  const o = cmd.opts<CommonFlags>();
  const levelName = cmd.args[0] as string;
  let spec: OperatorCommandSpec;
  let waitMs: number | undefined;
  try {
    if (o.run === undefined) throw new CommandSpecError("--run is required (the training run to escalate)");
    spec = {
      runId: o.run,
      commandType: CommandType.EMERGENCY,
      payload: {
        kind: "emergency",
        level: emergencyLevel(levelName),
        reason: o.reason ?? `operator emergency ${levelName.toUpperCase()}`,
      },
      ...(o.id !== undefined ? { commandId: o.id } : {}),
    };
    waitMs = waitOf(o);
  } catch (error) {
    process.stderr.write(`esper emergency: ${errorText(error)}\n`);
    return CommandExit.badArgs;
  }
  return publishOperatorCommand("emergency", spec, {
    target: o.target ?? "tolaria",
    timing: { freshnessWindowMs: o.freshness, executionDeadlineMs: o.deadline },
    json: o.json === true,
    ...(o.nats !== undefined ? { nats: o.nats } : {}),
    ...(waitMs !== undefined ? { waitMs } : {}),
  });
}
