import type { Command } from "commander";
import { CommandType } from "../../contracts/enums.ts";
import type { CommandPayload } from "../../contracts/messages/command.ts";
import { errorText } from "../errors.ts";
import { finiteNumber, integer } from "../flags.ts";
import {
  CommandSpecError,
  cullPayload,
  defaultTarget,
  emergencyLevel,
  germinatePayload,
  type OperatorCommandSpec,
  readCommandFile,
} from "./command-build.ts";
import {
  CommandExit,
  type CommonFlags,
  defineCommonFlags,
  publishOperatorCommand,
  waitOf,
} from "./command-publish.ts";

/** The flags of `esper command`, as commander parsed them. */
interface CommandFlags extends CommonFlags {
  readonly germinate?: string;
  readonly blueprint?: string;
  readonly blend: string;
  readonly schedule: string;
  readonly steps: number;
  readonly cull?: string;
  readonly optimizer?: string;
  readonly lr?: number;
  readonly momentum?: number;
  readonly weightDecay?: number;
  readonly pause?: true;
  readonly resume?: true;
  readonly emergency?: string;
  readonly file?: string;
}

const KINDS = ["germinate", "cull", "optimizer", "pause", "resume", "emergency"] as const;

/** `esper command --run ID (--germinate SEED … | --file cmd.json) [options]`. */
export function define(cmd: Command): void {
  cmd
    .usage(
      "--run ID (--germinate SEED --blueprint ID | --cull SEED | --optimizer ID [--lr X] [--momentum X] " +
        "[--weight-decay X] | --pause | --resume | --emergency LEVEL | --file cmd.json) [--reason TEXT] [options]",
    )
    .description(
      "Builds an AdaptationCommand, signs it with ESPER_SIGNING_KEY and stores it on the commands stream " +
        "(command.<run>.<target>); prints its id. Kasmina applies seed commands, Tolaria every other kind.",
    )
    .option("--run <id>", "the training run (esper up says it at start: `run <id>`)")
    .option("--germinate <seed>", "germinate seed SEED (e.g. s1-g0) with blueprint --blueprint ID")
    .option("--blueprint <id>", "the blueprint of --germinate")
    .option("--blend <mode>", "--germinate's blending: convex or residual", "convex")
    .option("--schedule <shape>", "--germinate's ramp: linear, cosine, tanh or warmup_hold", "linear")
    .option("--steps <n>", "--germinate's ramp length in steps", integer(1, 1_000_000), 20)
    .option("--cull <seed>", "cull seed SEED")
    .option("--optimizer <id>", "adjust optimizer ID: --lr, --momentum (0-1), --weight-decay (at least one)")
    .option("--lr <x>", "--optimizer's learning rate", finiteNumber)
    .option("--momentum <x>", "--optimizer's momentum", finiteNumber)
    .option("--weight-decay <x>", "--optimizer's weight decay", finiteNumber)
    .option("--pause", "pause adaptation (--reason required)")
    .option("--resume", "resume adaptation (--reason required)")
    .option("--emergency <level>", "escalate: NOTICE, ELEVATED, CONSERVATIVE or HALT (--reason required)")
    .option(
      "--file <path>",
      "the command from a JSON file: {commandType, payload[, trainingRunId, targetSeedId, commandId]} " +
        "(commandType as a name or code, enum fields of the payload as codes)",
    )
    .option("--reason <text>", "why (pause, resume, emergency)");
  defineCommonFlags(cmd);
}

const required = (flag: string, value: string | undefined, why: string): string => {
  if (value === undefined) throw new CommandSpecError(`${flag} is required ${why}`);
  return value;
};

function specOf(o: CommandFlags, run: string): OperatorCommandSpec {
  const kinds = KINDS.filter((k) => o[k] !== undefined);
  const [kind, ...more] = kinds;
  if (kind === undefined) {
    throw new CommandSpecError(
      "give one of --germinate, --cull, --optimizer, --pause, --resume, --emergency, --file",
    );
  }
  if (more.length > 0) throw new CommandSpecError(`give one command, got --${kinds.join(", --")}`);
  const base = { runId: run, ...(o.id !== undefined ? { commandId: o.id } : {}) };
  const reason = (): string => required("--reason", o.reason, `with --${kind}`);
  switch (kind) {
    case "germinate":
      return {
        ...base,
        commandType: CommandType.SEED,
        targetSeedId: o.germinate as string,
        payload: germinatePayload(
          required("--blueprint", o.blueprint, "with --germinate"),
          o.blend,
          o.schedule,
          o.steps,
        ),
      };
    case "cull":
      return {
        ...base,
        commandType: CommandType.SEED,
        targetSeedId: o.cull as string,
        payload: cullPayload(),
      };
    case "optimizer": {
      const payload: CommandPayload = {
        kind: "optimizer",
        optimizerId: o.optimizer as string,
        ...(o.lr !== undefined ? { learningRate: o.lr } : {}),
        ...(o.momentum !== undefined ? { momentum: o.momentum } : {}),
        ...(o.weightDecay !== undefined ? { weightDecay: o.weightDecay } : {}),
      };
      return { ...base, commandType: CommandType.OPTIMIZER, payload };
    }
    case "pause":
    case "resume":
      return {
        ...base,
        commandType: CommandType.PAUSE,
        payload: { kind: "pause", resume: kind === "resume", reason: reason() },
      };
    default:
      return {
        ...base,
        commandType: CommandType.EMERGENCY,
        payload: {
          kind: "emergency",
          level: emergencyLevel(o.emergency as string),
          reason: reason(),
        },
      };
  }
}

/** `esper command`: build, sign and publish an AdaptationCommand. */
export async function action(cmd: Command): Promise<number> {
  const o = cmd.opts<CommandFlags>();
  let spec: OperatorCommandSpec;
  let waitMs: number | undefined;
  try {
    if (o.file !== undefined) {
      if (KINDS.some((k) => o[k] !== undefined)) {
        throw new CommandSpecError("give --file or a command flag, not both");
      }
      spec = await readCommandFile(o.file, o.run);
      if (o.id !== undefined) spec = { ...spec, commandId: o.id };
    } else {
      spec = specOf(o, required("--run", o.run, "(the training run the command is for)"));
    }
    waitMs = waitOf(o);
  } catch (error) {
    process.stderr.write(`esper command: ${errorText(error)}\n`);
    return CommandExit.badArgs;
  }
  return publishOperatorCommand("command", spec, {
    target: o.target ?? defaultTarget(spec.commandType),
    timing: { freshnessWindowMs: o.freshness, executionDeadlineMs: o.deadline },
    json: o.json === true,
    ...(o.nats !== undefined ? { nats: o.nats } : {}),
    ...(waitMs !== undefined ? { waitMs } : {}),
  });
}
