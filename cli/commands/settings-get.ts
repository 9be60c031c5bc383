import { randomUUID } from "node:crypto";
import type { Command } from "commander";
import { settingAt } from "../../actors/weatherlight/settings-owner-patch.ts";
import { SettingsPath } from "../../contracts/messages/settings-request.ts";
import { helpFooter, jsonOption, NATS_ENVIRONMENT, natsOption, usageError } from "../flags.ts";
import {
  askWeatherlight,
  operatorName,
  reportFailure,
  reportRefusal,
  SettingsExit,
  settingLines,
} from "./settings-client.ts";

/** `esper settings get [key] [--json] [--nats URL]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Prints the worker settings in force, as Weatherlight (their one writer) holds them: every setting as " +
        "`path = value` lines after its revision, or only those under `key` (a setting or a group, e.g. " +
        "timeouts or timeouts.decisionDeadlineMs).",
    )
    .argument("[key]", "a setting or a group of settings")
    .addOption(
      jsonOption("print {namespace, revision, key?, value} (value: the settings, or what is under key)"),
    )
    .addOption(natsOption());
  helpFooter(cmd, {
    environment: NATS_ENVIRONMENT,
    exitCodes: {
      [SettingsExit.ok]: "printed",
      [SettingsExit.refused]: "refused (reason printed)",
      [SettingsExit.badArgs]: "bad arguments or an unknown key",
      [SettingsExit.noWeatherlight]:
        "no Weatherlight answering (NATS unreachable, no responder, or no reply within 5 s)",
    },
  });
}

/** `esper settings get [key]`: the worker settings (or one setting) from Weatherlight. */
export async function action(cmd: Command): Promise<number> {
  const key = cmd.args[0];
  const o = cmd.opts<{ json?: true; nats?: string }>();
  if (key !== undefined && !SettingsPath.safeParse(key).success)
    usageError(cmd, `key '${key}' must be camelCase keys joined by dots (e.g. worker.concurrency)`);
  const json = o.json === true;
  const url = o.nats;
  try {
    const { namespace, reply } = await askWeatherlight(url, {
      requestId: randomUUID(),
      verb: "get",
      requestedBy: operatorName(),
    });
    if (!reply.ok || reply.settings === undefined) return reportRefusal("settings get", reply);
    const value = key === undefined ? reply.settings : settingAt(reply.settings, key);
    if (value === undefined) {
      process.stderr.write(`esper settings get: unknown setting '${key}'\n`);
      return SettingsExit.badArgs;
    }
    process.stdout.write(
      json
        ? `${JSON.stringify({ namespace, revision: reply.revision, ...(key !== undefined ? { key } : {}), value })}\n`
        : `revision ${reply.revision}\n${settingLines(value, key ?? "").join("\n")}\n`,
    );
    return SettingsExit.ok;
  } catch (error) {
    return reportFailure("settings get", error);
  }
}
