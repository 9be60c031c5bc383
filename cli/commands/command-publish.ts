import type { Command } from "commander";
import { loadProcessSettings } from "../../actors/runtime/process-settings.ts";
import type { BusConnection } from "../../bus/connection.ts";
import { type ConsumerDeclaration, runConsumers } from "../../bus/jetstream/declarations.ts";
import { publishToStream } from "../../bus/jetstream/publish.ts";
import { SystemLimits } from "../../contracts/budgets.ts";
import { ContractError } from "../../contracts/errors.ts";
import type { AdaptationCommand } from "../../contracts/messages/command.ts";
import { checkToken, SubjectError, subjectFor } from "../../contracts/subjects.ts";
import { connectFromFlags } from "../connect.ts";
import { errorText } from "../errors.ts";
import { durationMs, helpFooter, jsonOption, natsOption } from "../flags.ts";
import {
  buildSignedCommand,
  CommandSpecError,
  type CommandTiming,
  type OperatorCommandSpec,
} from "./command-build.ts";
import { type CommandOutcome, watchOutcome } from "./command-outcome.ts";
import { operatorName } from "./settings-client.ts";

/** Exit codes of `esper command` and `esper emergency`. */
export const CommandExit = { ok: 0, rejected: 1, badArgs: 2, unavailable: 3 } as const;

/** The flags `esper command` and `esper emergency` share, as commander parsed them. */
export interface CommonFlags {
  readonly run?: string;
  readonly reason?: string;
  readonly target?: string;
  readonly id?: string;
  readonly freshness: number;
  readonly deadline: number;
  readonly wait?: true;
  readonly waitTimeout?: number;
  readonly json?: true;
  readonly nats?: string;
}

/**
 * Declares the flags `esper command` and `esper emergency` share (see {@link CommonFlags}; `--run` and
 * `--reason` are described by each command) and their environment and exit codes.
 */
export function defineCommonFlags(cmd: Command): Command {
  cmd
    .option(
      "--target <actor>",
      "the actor the command is for: kasmina or tolaria (default: kasmina for seed commands, else tolaria)",
    )
    .option("--id <id>", "the command id (default a random UUID); the same id published again is stored once")
    .option(
      "--freshness <ms>",
      `how long the command stays fresh, 1-${SystemLimits.maxCommandFreshnessMs}`,
      durationMs(SystemLimits.maxCommandFreshnessMs),
      60_000,
    )
    .option("--deadline <ms>", "its execution deadline", durationMs(2 ** 32 - 1), 5_000)
    .option("--wait", "wait for the target to apply or reject it and say which (and why)")
    .option("--wait-timeout <ms>", "how long --wait waits (default 30000)", durationMs(600_000))
    .addOption(jsonOption("print one JSON line: {commandId, subject, stream, seq, duplicate[, outcome]}"))
    .addOption(natsOption());
  return helpFooter(cmd, {
    environment: [
      "ESPER_SIGNING_KEY (required, at least 16 characters: the stack's HMAC key; no default),",
      "ESPER_NAMESPACE (default esper), ESPER_NATS_URL, ESPER_NATS_USER and ESPER_NATS_PASS (the stack's",
      "`operator` user when the server has permissions, e.g. ESPER_NATS_PASS=$ESPER_NATS_PASS_OPERATOR)",
    ],
    exitCodes: {
      [CommandExit.ok]: "published (with --wait: applied)",
      [CommandExit.rejected]: "rejected by the target (reason printed)",
      [CommandExit.badArgs]: "bad arguments, a field the contract refuses, or no signing key",
      [CommandExit.unavailable]:
        "NATS unreachable, the command not stored (e.g. refused by the server's permissions), or no outcome within --wait-timeout",
    },
  });
}

/** The wait of `--wait` in milliseconds (undefined without it); `--wait-timeout` alone is a CommandSpecError. */
export function waitOf(flags: CommonFlags): number | undefined {
  if (flags.wait === true) return flags.waitTimeout ?? 30_000;
  if (flags.waitTimeout !== undefined) throw new CommandSpecError("--wait-timeout needs --wait");
  return undefined;
}

/** The actors that consume commands: the `target` of each per-run consumer of the `command` subject. */
export function commandTargets(): string[] {
  return Object.values(runConsumers as Record<string, ConsumerDeclaration>)
    .filter((c) => c.subject === "command")
    .map((c) => c.params?.target)
    .filter((t): t is string => t !== undefined);
}

/** How to publish: where, as what target, with what timing, and whether to wait for the outcome. */
export interface PublishOptions {
  readonly nats?: string;
  readonly target: string;
  readonly timing: CommandTiming;
  readonly json: boolean;
  /** Milliseconds to wait for the outcome; undefined: do not wait. */
  readonly waitMs?: number;
}

/**
 * Signs `spec` with ESPER_SIGNING_KEY, publishes it on `command.<run>.<target>` and prints its id (and,
 * with `waitMs`, its outcome); returns the exit code (see {@link CommandExit}).
 */
export async function publishOperatorCommand(
  name: string,
  spec: OperatorCommandSpec,
  opts: PublishOptions,
): Promise<number> {
  const fail = (code: number, error: unknown): number => {
    process.stderr.write(`esper ${name}: ${errorText(error)}\n`);
    return code;
  };
  let command: AdaptationCommand;
  try {
    const key = loadProcessSettings().signingKey;
    if (key === undefined) {
      throw new CommandSpecError("ESPER_SIGNING_KEY is required: the key the stack's actors verify with");
    }
    checkToken("--run", spec.runId);
    const targets = commandTargets();
    if (!targets.includes(opts.target)) {
      throw new CommandSpecError(
        `--target must be one of ${targets.join(", ")} (the actors consuming commands), got '${opts.target}'`,
      );
    }
    command = buildSignedCommand(spec, `operator:${operatorName()}`, opts.timing, key);
  } catch (error) {
    return fail(CommandExit.badArgs, error);
  }
  let bus: BusConnection;
  try {
    bus = await connectFromFlags(opts.nats, `esper-${name}`);
  } catch (error) {
    return fail(CommandExit.unavailable, error);
  }
  try {
    const params = { run: spec.runId, target: opts.target };
    const subject = subjectFor(bus.namespace, "command", params);
    const watch =
      opts.waitMs !== undefined ? watchOutcome(bus, spec.runId, opts.target, command.commandId) : undefined;
    try {
      if (watch !== undefined) await bus.nc.flush();
      let ack: Awaited<ReturnType<typeof publishToStream>>;
      try {
        ack = await publishToStream(bus, "command", command, { params, deadlineMs: 10_000 });
      } catch (error) {
        if (error instanceof ContractError || error instanceof SubjectError) {
          return fail(CommandExit.badArgs, error);
        }
        return fail(CommandExit.unavailable, error);
      }
      const published = {
        commandId: command.commandId,
        subject,
        stream: ack.stream,
        seq: ack.seq,
        duplicate: ack.duplicate,
      };
      if (!opts.json) {
        process.stdout.write(
          `${command.commandId}\npublished on ${subject} (stream ${ack.stream}, seq ${ack.seq}${ack.duplicate ? ", a duplicate: the stream already held this command id" : ""})\n`,
        );
      }
      if (watch === undefined || opts.waitMs === undefined) {
        if (opts.json) process.stdout.write(`${JSON.stringify(published)}\n`);
        return CommandExit.ok;
      }
      const outcome = await watch.wait(opts.waitMs);
      if (opts.json) process.stdout.write(`${JSON.stringify({ ...published, outcome: outcome ?? null })}\n`);
      else if (outcome !== undefined) process.stdout.write(`${outcomeLine(outcome)}\n`);
      if (outcome === undefined) {
        return fail(
          CommandExit.unavailable,
          `no outcome of command ${command.commandId} from ${opts.target} within ${opts.waitMs} ms`,
        );
      }
      return outcome.status === "applied" ? CommandExit.ok : CommandExit.rejected;
    } finally {
      await watch?.stop();
    }
  } finally {
    await bus.close();
  }
}

function outcomeLine(o: CommandOutcome): string {
  return o.status === "applied" ? `applied: ${o.evidence}` : `rejected: ${o.reason}: ${o.detail}`;
}
