import { type Command, InvalidArgumentError, Option } from "commander";

/** The exit code of a usage error (bad or missing arguments) of every `esper` command. */
export const USAGE_EXIT = 2;

/**
 * The parser of an integer option or argument: optional sign and digits only, a safe integer within
 * `min`..`max`; anything else is commander's usage error naming the flag (exit 2).
 */
export function integer(min: number, max: number = Number.MAX_SAFE_INTEGER): (value: string) => number {
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `${min}-${max}`;
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`Must be an integer ${range}.`);
    return n;
  };
}

/** The parser of a duration in milliseconds: an integer 1..`max`. */
export function durationMs(max: number = Number.MAX_SAFE_INTEGER): (value: string) => number {
  const range = max === Number.MAX_SAFE_INTEGER ? ">= 1" : `1-${max}`;
  const parse = integer(1, max);
  return (value) => {
    try {
      return parse(value);
    } catch {
      throw new InvalidArgumentError(`Must be an integer ${range} (milliseconds).`);
    }
  };
}

/** The parser of a finite number (`0.01`, `-3`, `1e-4`). */
export function finiteNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError("Must be a number.");
  return n;
}

/** The parser of a TCP port: 0-65535 (0: a free port). */
export const port: (value: string) => number = integer(0, 65_535);

/** Collects a repeatable option's values in order (`--subject a --subject b`). */
export function repeated(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `--nats URL`: the NATS server(s) of every command that connects (read by `connectFromFlags`). */
export function natsOption(): Option {
  return new Option(
    "--nats <url>",
    "NATS server URL(s), comma-separated (default: ESPER_NATS_URL, else nats://127.0.0.1:4222)",
  );
}

/** `--json`; `description` says what it prints (default: JSON is the only output format). */
export function jsonOption(
  description = "print JSON (the only output format; accepted for explicitness)",
): Option {
  return new Option("--json", description);
}

/** What a command's help says after its options: environment variables and exit codes. */
export interface HelpFooter {
  /** Lines naming the environment variables the command reads. */
  readonly environment?: readonly string[];
  /** Each exit code (or `other`) and what it means, in order. */
  readonly exitCodes: Readonly<Record<string, string>>;
}

/** Adds the environment variables and exit codes to `cmd`'s help, after its options. */
export function helpFooter(cmd: Command, footer: HelpFooter): Command {
  const lines: string[] = [];
  if (footer.environment !== undefined && footer.environment.length > 0) {
    lines.push("", "Environment:", ...footer.environment.map((l) => `  ${l}`));
  }
  lines.push("", "Exit codes:");
  const codes = Object.entries(footer.exitCodes);
  const width = Math.max(...codes.map(([code]) => code.length)) + 2;
  for (const [code, meaning] of codes) lines.push(`  ${code.padEnd(width)}${meaning}`);
  return cmd.addHelpText("after", lines.join("\n"));
}

/** Ends `cmd` with a usage error: commander prints `error: <message>` and the help hint, exit 2. */
export function usageError(cmd: Command, message: string): never {
  cmd.error(`error: ${message}`, { exitCode: USAGE_EXIT, code: "esper.usage" });
}

/** The connection environment every command that connects to NATS reads. */
export const NATS_ENVIRONMENT: readonly string[] = [
  "ESPER_NATS_URL (default nats://127.0.0.1:4222; --nats overrides it), ESPER_NAMESPACE (default esper),",
  "ESPER_NATS_USER / ESPER_NATS_PASS (both or neither; the stack's `operator` user when it has permissions),",
  "ESPER_CONNECT_TIMEOUT_MS (default 5000)",
];
