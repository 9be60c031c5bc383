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

/** A running `esper` child process. */
export interface EsperProcess {
  readonly pid: number | undefined;
  /** Resolves with the first stdout line for which `match` is true (rejects if the process ends first). */
  waitForLine(match: (line: string) => boolean): Promise<string>;
  /** Resolves when the process has exited. */
  readonly result: Promise<EsperResult>;
  /** What the process has written to stderr so far. */
  stderrSoFar(): string;
  /** SIGKILLs the process if it still runs (a test's cleanup) and waits for its exit. */
  kill(): Promise<void>;
}

/**
 * Starts `node bin/esper.js <args>` as a child process with `env` added to this process's environment;
 * SIGKILLs it after `timeoutMs` (the result then shows the signal).
 */
export function startEsper(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  timeoutMs: number,
): EsperProcess {
  const child = spawn(process.execPath, [ESPER, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  let partial = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => {
    stdout += c;
    const lines = (partial + c).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      for (const w of waiters.filter((w) => w.match(line))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  child.stderr.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const result = new Promise<EsperResult>((resolve) => {
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    pid: child.pid,
    result,
    stderrSoFar: () => stderr,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await result;
    },
    waitForLine: (match) =>
      new Promise<string>((resolve, reject) => {
        waiters.push({ match, resolve });
        void result.then((r) => reject(new Error(`esper ended before the line was printed:\n${r.stderr}`)));
      }),
  };
}

/** Runs `node bin/esper.js <args>` to its end (see {@link startEsper}). */
export function runEsper(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  timeoutMs: number,
): Promise<EsperResult> {
  return startEsper(args, env, timeoutMs).result;
}
