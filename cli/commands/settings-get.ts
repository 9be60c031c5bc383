import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { settingAt } from "../../actors/weatherlight/settings-owner-patch.ts";
import { SettingsPath } from "../../contracts/messages/settings-request.ts";
import {
  askWeatherlight,
  operatorName,
  reportFailure,
  reportRefusal,
  SettingsExit,
  settingLines,
} from "./settings-client.ts";

const HELP = `usage: esper settings get [key] [--json] [--nats nats://...]

Prints the worker settings in force, as Weatherlight (their one writer) holds them: every setting as
\`path = value\` lines after its revision, or only those under \`key\` (a setting or a group, e.g.
timeouts or timeouts.decisionDeadlineMs). Exit 0, 1 refused, 2 bad arguments or an unknown key, 3 no
Weatherlight answering.

  --json      print {namespace, revision, key?, value} (value: the settings, or what is under key)
  --nats URL  NATS server URL(s), comma-separated (default: ESPER_NATS_URL, else nats://127.0.0.1:4222)`;

/** `esper settings get [key]`: the worker settings (or one setting) from Weatherlight. */
export async function run(args: readonly string[]): Promise<number> {
  let key: string | undefined;
  let json: boolean;
  let url: string | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { json: { type: "boolean" }, nats: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return SettingsExit.ok;
    }
    if (positionals.length > 1) throw new Error(`expected at most one key, got '${positionals.join(" ")}'`);
    key = positionals[0];
    if (key !== undefined && !SettingsPath.safeParse(key).success)
      throw new Error(`key '${key}' must be camelCase keys joined by dots (e.g. worker.concurrency)`);
    json = values.json === true;
    url = values.nats;
  } catch (error) {
    process.stderr.write(`esper settings get: ${(error as Error).message}\n${HELP}\n`);
    return SettingsExit.badArgs;
  }
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
