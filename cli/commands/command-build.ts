import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import {
  BlendMode,
  BlendSchedule,
  CommandType,
  EmergencyLevel,
  SeedOperation,
} from "../../contracts/enums.ts";
import type { AdaptationCommand, CommandPayload } from "../../contracts/messages/command.ts";
import { freshSecurity, sign } from "../../contracts/signing.ts";

/** A command as the operator gives it: what to do, to which run; the CLI adds id, issuer and the signature. */
export interface OperatorCommandSpec {
  readonly runId: string;
  readonly commandType: AdaptationCommand["commandType"];
  readonly payload: CommandPayload;
  readonly targetSeedId?: string;
  /** Default a random UUID. */
  readonly commandId?: string;
}

/** How long a command stays fresh (its `security.freshnessWindowMs`) and may wait to be executed. */
export interface CommandTiming {
  readonly freshnessWindowMs: number;
  readonly executionDeadlineMs: number;
}

/** A malformed command request (flags or file): the message names the flag or field. */
export class CommandSpecError extends Error {
  override readonly name = "CommandSpecError";
}

/** The actor a command type goes to by default: seed commands to Kasmina, every other type to Tolaria. */
export function defaultTarget(type: AdaptationCommand["commandType"]): "kasmina" | "tolaria" {
  return type === CommandType.SEED ? "kasmina" : "tolaria";
}

/** The value of enum `values` named `name` (case-insensitive), or a CommandSpecError naming `what` and the choices. */
export function enumByName<E extends Record<string, number>>(
  values: E,
  what: string,
  name: string,
  allowed: readonly (keyof E & string)[] = Object.keys(values).filter((k) => values[k] !== 0),
): Exclude<E[keyof E], 0> {
  const key = allowed.find((k) => k.toLowerCase() === name.toLowerCase());
  if (key === undefined) {
    throw new CommandSpecError(`${what} must be one of ${allowed.join(", ")}, got '${name}'`);
  }
  return values[key] as Exclude<E[keyof E], 0>;
}

/** Germinate `seedId` with blueprint `blueprintId`, blending `blend` along a `schedule` ramp of `steps` steps from 0 to 1. */
export function germinatePayload(
  blueprintId: string,
  blend: string,
  schedule: string,
  steps: number,
): CommandPayload {
  return {
    kind: "seed",
    operation: SeedOperation.GERMINATE,
    blueprintId,
    blendMode: enumByName(BlendMode, "--blend", blend, ["RESIDUAL", "CONVEX"]),
    schedule: {
      shape: enumByName(BlendSchedule, "--schedule", schedule),
      steps,
      start: 0,
      end: 1,
    },
    resume: false,
    includeTeacher: false,
    parameters: {},
  };
}

/** Cull a seed. */
export function cullPayload(): CommandPayload {
  return {
    kind: "seed",
    operation: SeedOperation.CULL,
    resume: false,
    includeTeacher: false,
    parameters: {},
  };
}

/** The emergency level named `name` (NOTICE, ELEVATED, CONSERVATIVE, HALT). */
export function emergencyLevel(name: string): Exclude<EmergencyLevel, 0> {
  return enumByName(EmergencyLevel, "level", name);
}

/**
 * The signed AdaptationCommand of `spec`, issued now by `issuedBy` with a fresh nonce. The codec checks
 * the result when it is published (a field that breaks the contract is named there).
 */
export function buildSignedCommand(
  spec: OperatorCommandSpec,
  issuedBy: string,
  timing: CommandTiming,
  key: string,
): AdaptationCommand {
  return sign(
    "AdaptationCommand",
    {
      version: 1,
      commandId: spec.commandId ?? randomUUID(),
      commandType: spec.commandType,
      trainingRunId: spec.runId,
      ...(spec.targetSeedId !== undefined ? { targetSeedId: spec.targetSeedId } : {}),
      executionDeadlineMs: timing.executionDeadlineMs,
      issuedBy,
      payload: spec.payload,
      security: freshSecurity({ freshnessWindowMs: timing.freshnessWindowMs }),
    },
    key,
  );
}

/**
 * Reads a command file: a JSON object with `commandType` (code or name, e.g. `SEED`), `payload` (the
 * contract's payload; enum fields as codes), optionally `trainingRunId`, `targetSeedId` and `commandId`.
 * `--run` overrides `trainingRunId`; one of them is required.
 */
export async function readCommandFile(path: string, run: string | undefined): Promise<OperatorCommandSpec> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new CommandSpecError(`--file ${path}: ${(error as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new CommandSpecError(`--file ${path}: must hold a JSON object`);
  }
  const o = raw as Record<string, unknown>;
  const known = ["commandType", "payload", "trainingRunId", "targetSeedId", "commandId"];
  const unknown = Object.keys(o).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new CommandSpecError(
      `--file ${path}: unknown field(s) ${unknown.join(", ")} (allowed: ${known.join(", ")}; id, issuer and security are added when signing)`,
    );
  }
  const text = (name: string): string | undefined => {
    const v = o[name];
    if (v !== undefined && typeof v !== "string")
      throw new CommandSpecError(`--file ${path}: ${name} must be a string`);
    return v;
  };
  const type = o.commandType;
  if (typeof type !== "string" && typeof type !== "number") {
    throw new CommandSpecError(`--file ${path}: commandType must be a name (e.g. SEED) or a code`);
  }
  const commandType =
    typeof type === "string"
      ? enumByName(CommandType, "commandType", type)
      : (type as AdaptationCommand["commandType"]);
  const runId = run ?? text("trainingRunId");
  if (runId === undefined) throw new CommandSpecError(`--file ${path}: give trainingRunId or --run`);
  const seed = text("targetSeedId");
  const id = text("commandId");
  return {
    runId,
    commandType,
    payload: o.payload as CommandPayload,
    ...(seed !== undefined ? { targetSeedId: seed } : {}),
    ...(id !== undefined ? { commandId: id } : {}),
  };
}
