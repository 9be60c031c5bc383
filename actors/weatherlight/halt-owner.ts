import { randomUUID } from "node:crypto";
import type { BusConnection } from "../../bus/connection.ts";
import { publishToStream } from "../../bus/jetstream/publish.ts";
import { CommandType, EmergencyLevel } from "../../contracts/enums.ts";
import type { AdaptationCommand } from "../../contracts/messages/command.ts";
import { freshSecurity, sign } from "../../contracts/signing.ts";
import type { ActorChild, ChildExit } from "./child-processes.ts";

/** How long Tolaria has to act on a HALT command (its `executionDeadlineMs`). */
const HALT_EXECUTION_DEADLINE_MS = 5_000;
/** How long the command's store may be retried (a reconnect) before the halt is given up. */
const HALT_PUBLISH_DEADLINE_MS = 5_000;

/**
 * The signed emergency command that halts run `runId`'s Tolaria: commandType EMERGENCY, payload
 * `{kind: "emergency", level: HALT, reason}`, issued by weatherlight now, signed with `key`.
 */
export function haltCommand(runId: string, reason: string, key: string): AdaptationCommand {
  return sign(
    "AdaptationCommand",
    {
      version: 1,
      commandId: `halt-${randomUUID()}`,
      commandType: CommandType.EMERGENCY,
      trainingRunId: runId,
      executionDeadlineMs: HALT_EXECUTION_DEADLINE_MS,
      issuedBy: "weatherlight",
      payload: { kind: "emergency", level: EmergencyLevel.HALT, reason },
      security: freshSecurity(),
    },
    key,
  );
}

/** What a halt did: the command published, and Tolaria's exit when it came within the grace. */
export interface HaltResult {
  readonly commandId: string;
  /** Tolaria's exit, or undefined when it was still running when the grace ran out. */
  readonly exit: ChildExit | undefined;
}

/** What `haltRunOwner` needs. */
export interface HaltOptions {
  readonly bus: BusConnection;
  readonly runId: string;
  readonly signingKey: string;
  /** The run owner's process (Tolaria). */
  readonly owner: ActorChild;
  readonly reason: string;
  /** How long Tolaria has to write its final checkpoint and exit after the command is stored. */
  readonly graceMs: number;
}

/**
 * Halts the run owner cleanly: stores a signed HALT command on `command.<run>.tolaria` (Tolaria writes
 * a final checkpoint and stops) and waits for its process to exit, at most `graceMs`. A store that
 * fails throws (StreamPublishError). The caller stops what is still running afterwards.
 */
export async function haltRunOwner(options: HaltOptions): Promise<HaltResult> {
  const command = haltCommand(options.runId, options.reason, options.signingKey);
  await publishToStream(options.bus, "command", command, {
    params: { run: options.runId, target: "tolaria" },
    deadlineMs: HALT_PUBLISH_DEADLINE_MS,
  });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), options.graceMs);
  });
  try {
    const exit = await Promise.race([options.owner.exited, late]);
    return { commandId: command.commandId, exit };
  } finally {
    clearTimeout(timer);
  }
}
