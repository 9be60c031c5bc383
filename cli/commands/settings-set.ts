import type { Command } from "commander";
import { loadProcessSettings } from "../../actors/runtime/process-settings.ts";
import { settingsSetRequest } from "../../actors/weatherlight/settings-owner.ts";
import { parseAssignment } from "../../actors/weatherlight/settings-owner-patch.ts";
import type { SettingsAssignment } from "../../contracts/messages/settings-request.ts";
import { helpFooter, integer, jsonOption, NATS_ENVIRONMENT, natsOption, usageError } from "../flags.ts";
import {
  askWeatherlight,
  operatorName,
  reportFailure,
  reportRefusal,
  SettingsExit,
} from "./settings-client.ts";

/** `esper settings set key=value... [--expect-revision N] [--json] [--nats URL]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Changes worker settings through Weatherlight, their one writer: each key is a dotted path " +
        "(timeouts.decisionDeadlineMs=500), each value JSON when it reads as a number, boolean or string, else " +
        "the text. Weatherlight checks the merged settings against the schema, writes them as the next revision " +
        "(nothing is written when refused), audits the change, and every actor applies it live. Signed with " +
        "ESPER_SIGNING_KEY.",
    )
    .argument("<key=value...>", "the settings to change")
    .option("--expect-revision <n>", "refuse unless the settings are still at revision N", integer(0))
    .addOption(
      jsonOption("print Weatherlight's reply as JSON ({requestId, ok, revision, changed, settings | error})"),
    )
    .addOption(natsOption());
  helpFooter(cmd, {
    environment: [...NATS_ENVIRONMENT, "ESPER_SIGNING_KEY (required): the key the change is signed with"],
    exitCodes: {
      [SettingsExit.ok]: "changed (or nothing to change)",
      [SettingsExit.refused]: "refused (reason printed)",
      [SettingsExit.badArgs]: "bad arguments, or no signing key",
      [SettingsExit.noWeatherlight]:
        "no Weatherlight answering (NATS unreachable, no responder, or no reply within 5 s)",
    },
  });
}

/** `esper settings set key=value…`: a signed settings change through Weatherlight. */
export async function action(cmd: Command): Promise<number> {
  const o = cmd.opts<{ expectRevision?: number; json?: true; nats?: string }>();
  let changes: SettingsAssignment[];
  try {
    changes = cmd.args.map(parseAssignment);
  } catch (error) {
    usageError(cmd, (error as Error).message);
  }
  const expectedRevision = o.expectRevision;
  const json = o.json === true;
  const url = o.nats;
  const key = loadProcessSettings().signingKey;
  if (key === undefined) usageError(cmd, "ESPER_SIGNING_KEY is not set: a set must be signed");
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
