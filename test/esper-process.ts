import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const ESPER = fileURLToPath(new URL("../bin/esper.js", import.meta.url));

/** How an `esper` child process ended and what it wrote. */
export interface EsperResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `node bin/esper.js <args>` as a child process with `env` added to this process's environment
 * and resolves when it exits; SIGKILLs it after `timeoutMs` (the result then shows the signal).
 */
export function runEsper(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  timeoutMs: number,
): Promise<EsperResult> {
  const child = spawn(process.execPath, [ESPER, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => {
    stdout += c;
  });
  child.stderr.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve) => {
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
