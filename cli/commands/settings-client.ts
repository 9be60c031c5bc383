import { hostname, userInfo } from "node:os";
import type { BusConnection } from "../../bus/connection.ts";
import { BusRequestError, request } from "../../bus/typed.ts";
import type { SettingsReply, SettingsRequest } from "../../contracts/messages/settings-request.ts";
import { subjectFor } from "../../contracts/subjects.ts";
import { connectFromFlags } from "../connect.ts";
import { errorText } from "../errors.ts";

/** Exit codes of `esper settings get|set`. */
export const SettingsExit = { ok: 0, refused: 1, badArgs: 2, noWeatherlight: 3 } as const;

/** How long the CLI waits for Weatherlight's answer. */
const REPLY_TIMEOUT_MS = 5_000;

/** No Weatherlight answered: the server is unreachable, nobody serves the settings subject, or no reply came in time. */
export class NoWeatherlightError extends Error {
  override readonly name = "NoWeatherlightError";
}

/** Who asks, for the audit: `<user>@<host>`. */
export function operatorName(): string {
  return `${userInfo().username}@${hostname()}`;
}

/** Weatherlight's answer and the namespace it was asked in. */
export interface WeatherlightAnswer {
  readonly namespace: string;
  readonly reply: SettingsReply;
}

/** Sends `req` to the namespace's Weatherlight (`--nats` or ESPER_NATS_URL, ESPER_NAMESPACE) and returns its reply. */
export async function askWeatherlight(
  url: string | undefined,
  req: SettingsRequest,
): Promise<WeatherlightAnswer> {
  let conn: BusConnection;
  try {
    conn = await connectFromFlags(url, "esper-settings");
  } catch (error) {
    throw new NoWeatherlightError(`cannot reach NATS, so no Weatherlight answers: ${errorText(error)}`);
  }
  const subject = subjectFor(conn.namespace, "weatherlightSettings");
  try {
    const reply = await request(conn, "weatherlightSettings", req, { timeoutMs: REPLY_TIMEOUT_MS });
    return { namespace: conn.namespace, reply };
  } catch (error) {
    if (error instanceof BusRequestError && (error.kind === "no_responders" || error.kind === "timeout")) {
      throw new NoWeatherlightError(
        `no Weatherlight answers on ${subject} (${error.kind === "timeout" ? `no reply within ${REPLY_TIMEOUT_MS} ms` : "nobody serves it"}): start the stack (esper up) or check ESPER_NAMESPACE '${conn.namespace}' and --nats`,
      );
    }
    throw error;
  } finally {
    await conn.close();
  }
}

/** Writes the failure of a settings command and returns its exit code (3 when no Weatherlight answered, else 1). */
export function reportFailure(command: string, error: unknown): number {
  process.stderr.write(`esper ${command}: ${errorText(error)}\n`);
  return error instanceof NoWeatherlightError ? SettingsExit.noWeatherlight : SettingsExit.refused;
}

/** Writes a refusal (`refused: <field>: <reason>`) and returns exit code 1. */
export function reportRefusal(command: string, reply: SettingsReply): number {
  const e = reply.error;
  if (e === undefined) throw new Error(`reply ${reply.requestId} is a refusal without its error`);
  process.stderr.write(`esper ${command}: refused: ${e.field}: ${e.reason}\n`);
  return SettingsExit.refused;
}

/** `path = value` lines of every leaf under `node` (dotted paths from `prefix`). */
export function settingLines(node: unknown, prefix: string): string[] {
  if (typeof node !== "object" || node === null) return [`${prefix} = ${JSON.stringify(node)}`];
  return Object.entries(node).flatMap(([k, v]) => settingLines(v, prefix === "" ? k : `${prefix}.${k}`));
}
