import { type ChildProcess, spawn } from "node:child_process";
import { DrillError } from "./drill-error.ts";

/** How to run an external tool. */
export interface ToolOptions {
  readonly cwd?: string;
  /** The environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** SIGKILL after this long, ms; the run is then an error naming the timeout. */
  readonly timeoutMs: number;
  /** Fed to the tool's stdin, then closed (default: stdin is closed at once). */
  readonly stdinFrom?: ChildProcess;
}

/** What a tool run printed and how it ended. */
export interface ToolResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The last `n` lines of `text`, for error messages. */
export function tail(text: string, n = 15): string {
  return text.trimEnd().split("\n").slice(-n).join("\n");
}

/** Runs `cmd args` to its end; never throws for a non-zero exit (see {@link runToolOk}). */
export function runTool(cmd: string, args: readonly string[], opts: ToolOptions): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [opts.stdinFrom === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    if (opts.stdinFrom !== undefined) {
      const source = opts.stdinFrom.stdout;
      if (source === null || child.stdin === null) throw new Error("runTool: stdinFrom needs piped stdout");
      source.pipe(child.stdin);
    }
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new DrillError(`${cmd} could not be started: ${error.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(
          new DrillError(`${cmd} ${args.join(" ")} took longer than ${opts.timeoutMs} ms\n${tail(stderr)}`),
        );
        return;
      }
      resolve({ code: code ?? (signal === null ? 1 : 128), stdout, stderr });
    });
  });
}

/** Runs `cmd args` and returns its stdout; a non-zero exit is a DrillError with the command and its stderr's tail. */
export async function runToolOk(cmd: string, args: readonly string[], opts: ToolOptions): Promise<string> {
  const r = await runTool(cmd, args, opts);
  if (r.code !== 0) {
    throw new DrillError(`${cmd} ${args.join(" ")} exited with ${r.code}\n${tail(r.stderr || r.stdout)}`);
  }
  return r.stdout;
}
