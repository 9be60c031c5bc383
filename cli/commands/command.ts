import { parseArgs } from "node:util";
import { SystemLimits } from "../../contracts/budgets.ts";
import { CommandType } from "../../contracts/enums.ts";
import type { CommandPayload } from "../../contracts/messages/command.ts";
import { errorText } from "../errors.ts";
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
  COMMON_HELP,
  COMMON_OPTIONS,
  CommandExit,
  msFlag,
  publishOperatorCommand,
} from "./command-publish.ts";

const HELP = `usage: esper command --run ID (--germinate SEED --blueprint ID | --cull SEED | --optimizer ID
                     [--lr X] [--momentum X] [--weight-decay X] | --pause | --resume |
                     --emergency LEVEL | --file cmd.json) [--reason TEXT] [options]

Builds an AdaptationCommand, signs it with ESPER_SIGNING_KEY and stores it on the commands stream
(command.<run>.<target>); prints its id. Kasmina applies seed commands, Tolaria every other kind.

  --run ID            the training run (esper up says it at start: \`run <id>\`)
  --germinate SEED    germinate seed SEED (e.g. s1-g0) with blueprint --blueprint ID, blending --blend
                      convex|residual (default convex) along --schedule linear|cosine|tanh|warmup_hold
                      (default linear) over --steps N steps (default 20)
  --cull SEED         cull seed SEED
  --optimizer ID      adjust optimizer ID: --lr, --momentum (0-1), --weight-decay (at least one)
  --pause, --resume   pause or resume adaptation (--reason required)
  --emergency LEVEL   escalate: NOTICE, ELEVATED, CONSERVATIVE or HALT (--reason required)
  --file PATH         the command from a JSON file: {commandType, payload[, trainingRunId, targetSeedId,
                      commandId]} (commandType as a name or code, enum fields of the payload as codes)
  --reason TEXT       why (pause, resume, emergency)
${COMMON_HELP}`;

const numberFlag = (flag: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) {
    throw new CommandSpecError(`${flag} must be a number, got '${value}'`);
  }
  return n;
};

const required = (flag: string, value: string | undefined, why: string): string => {
  if (value === undefined) throw new CommandSpecError(`${flag} is required ${why}`);
  return value;
};

function specOf(values: Record<string, string | boolean | undefined>, run: string): OperatorCommandSpec {
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const kinds = ["germinate", "cull", "optimizer", "pause", "resume", "emergency"].filter(
    (k) => values[k] !== undefined,
  );
  const [kind, ...more] = kinds;
  if (kind === undefined) {
    throw new CommandSpecError(
      "give one of --germinate, --cull, --optimizer, --pause, --resume, --emergency, --file",
    );
  }
  if (more.length > 0) throw new CommandSpecError(`give one command, got --${kinds.join(", --")}`);
  const id = str("id");
  const base = { runId: run, ...(id !== undefined ? { commandId: id } : {}) };
  const reason = (): string => required("--reason", str("reason"), `with --${kind}`);
  switch (kind) {
    case "germinate": {
      const steps = msFlag("--steps", str("steps"), 20, 1_000_000);
      return {
        ...base,
        commandType: CommandType.SEED,
        targetSeedId: str("germinate") as string,
        payload: germinatePayload(
          required("--blueprint", str("blueprint"), "with --germinate"),
          str("blend") ?? "convex",
          str("schedule") ?? "linear",
          steps,
        ),
      };
    }
    case "cull":
      return {
        ...base,
        commandType: CommandType.SEED,
        targetSeedId: str("cull") as string,
        payload: cullPayload(),
      };
    case "optimizer": {
      const lr = numberFlag("--lr", str("lr"));
      const momentum = numberFlag("--momentum", str("momentum"));
      const weightDecay = numberFlag("--weight-decay", str("weight-decay"));
      const payload: CommandPayload = {
        kind: "optimizer",
        optimizerId: str("optimizer") as string,
        ...(lr !== undefined ? { learningRate: lr } : {}),
        ...(momentum !== undefined ? { momentum } : {}),
        ...(weightDecay !== undefined ? { weightDecay } : {}),
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
          level: emergencyLevel(str("emergency") as string),
          reason: reason(),
        },
      };
  }
}

/** `esper command`: build, sign and publish an AdaptationCommand; see HELP. */
export async function run(args: readonly string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        ...COMMON_OPTIONS,
        germinate: { type: "string" },
        blueprint: { type: "string" },
        blend: { type: "string" },
        schedule: { type: "string" },
        steps: { type: "string" },
        cull: { type: "string" },
        optimizer: { type: "string" },
        lr: { type: "string" },
        momentum: { type: "string" },
        "weight-decay": { type: "string" },
        pause: { type: "boolean" },
        resume: { type: "boolean" },
        emergency: { type: "string" },
        file: { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`esper command: ${errorText(error)}\n${HELP}\n`);
    return CommandExit.badArgs;
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return CommandExit.ok;
  }
  let spec: OperatorCommandSpec;
  let freshness: number;
  let deadline: number;
  let waitMs: number | undefined;
  try {
    const run = values.run as string | undefined;
    const file = values.file as string | undefined;
    if (file !== undefined) {
      if (
        ["germinate", "cull", "optimizer", "pause", "resume", "emergency"].some(
          (k) => values[k] !== undefined,
        )
      ) {
        throw new CommandSpecError("give --file or a command flag, not both");
      }
      spec = await readCommandFile(file, run);
      if (values.id !== undefined) spec = { ...spec, commandId: values.id as string };
    } else {
      spec = specOf(values, required("--run", run, "(the training run the command is for)"));
    }
    freshness = msFlag(
      "--freshness",
      values.freshness as string | undefined,
      60_000,
      SystemLimits.maxCommandFreshnessMs,
    );
    deadline = msFlag("--deadline", values.deadline as string | undefined, 5_000, 2 ** 32 - 1);
    if (values.wait === true)
      waitMs = msFlag("--wait-timeout", values["wait-timeout"] as string | undefined, 30_000, 600_000);
    else if (values["wait-timeout"] !== undefined) throw new CommandSpecError("--wait-timeout needs --wait");
  } catch (error) {
    process.stderr.write(`esper command: ${errorText(error)}\n`);
    return CommandExit.badArgs;
  }
  return publishOperatorCommand("command", spec, {
    target: (values.target as string | undefined) ?? defaultTarget(spec.commandType),
    timing: { freshnessWindowMs: freshness, executionDeadlineMs: deadline },
    json: values.json === true,
    ...(values.nats !== undefined ? { nats: values.nats as string } : {}),
    ...(waitMs !== undefined ? { waitMs } : {}),
  });
}
