import { parseArgs } from "node:util";
import { loadProcessSettings } from "../../actors/runtime/process-settings.ts";
import { settingsSetRequest } from "../../actors/weatherlight/settings-owner.ts";
import { parseAssignment } from "../../actors/weatherlight/settings-owner-patch.ts";
import type { SettingsAssignment } from "../../contracts/messages/settings-request.ts";
import {
  askWeatherlight,
  operatorName,
  reportFailure,
  reportRefusal,
  SettingsExit,
} from "./settings-client.ts";

const HELP = `usage: esper settings set key=value... [--expect-revision N] [--json] [--nats nats://...]

Changes worker settings through Weatherlight, their one writer: each key is a dotted path
(timeouts.decisionDeadlineMs=500), each value JSON when it reads as a number, boolean or string, else
the text. Weatherlight checks the merged settings against the schema, writes them as the next revision
(nothing is written when refused), audits the change, and every actor applies it live. Signed with
ESPER_SIGNING_KEY. Exit 0, 1 refused (reason printed), 2 bad arguments, 3 no Weatherlight answering.

  --expect-revision N  refuse unless the settings are still at revision N
  --json               print Weatherlight's reply as JSON ({requestId, ok, revision, changed, settings | error})
  --nats URL           NATS server URL(s), comma-separated (default: ESPER_NATS_URL, else nats://127.0.0.1:4222)`;

/** `esper settings set key=value…`: a signed settings change through Weatherlight. */
export async function run(args: readonly string[]): Promise<number> {
  let changes: SettingsAssignment[];
  let json: boolean;
  let url: string | undefined;
  let expectedRevision: number | undefined;
  let key: string;
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: {
        "expect-revision": { type: "string" },
        json: { type: "boolean" },
        nats: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return SettingsExit.ok;
    }
    if (positionals.length === 0) throw new Error("expected at least one key=value");
    changes = positionals.map(parseAssignment);
    const expect = values["expect-revision"];
    if (expect !== undefined && !/^\d+$/.test(expect))
      throw new Error(`--expect-revision '${expect}' must be a non-negative integer`);
    expectedRevision = expect === undefined ? undefined : Number(expect);
    json = values.json === true;
    url = values.nats;
    const signingKey = loadProcessSettings().signingKey;
    if (signingKey === undefined) throw new Error("ESPER_SIGNING_KEY is not set: a set must be signed");
    key = signingKey;
  } catch (error) {
    process.stderr.write(`esper settings set: ${(error as Error).message}\n${HELP}\n`);
    return SettingsExit.badArgs;
  }
  try {
    const req = settingsSetRequest(changes, key, {
      requestedBy: operatorName(),
      ...(expectedRevision !== undefined ? { expectedRevision } : {}),
    });
    const { reply } = await askWeatherlight(url, req);
    if (json) process.stdout.write(`${JSON.stringify(reply)}\n`);
    if (!reply.ok) return reportRefusal("settings set", reply);
    if (!json) {
      const lines = (reply.changed ?? []).map(
        (c) => `${c.path}: ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`,
      );
      process.stdout.write(
        `revision ${reply.revision}${lines.length === 0 ? " (nothing changed)" : ""}\n${lines.map((l) => `${l}\n`).join("")}`,
      );
    }
    return SettingsExit.ok;
  } catch (error) {
    return reportFailure("settings set", error);
  }
}
