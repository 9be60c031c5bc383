import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { HealthSnapshot } from "../../actors/weatherlight/system-health-schema.ts";
import { DrillError } from "./drill-error.ts";
import { tail } from "./tool-process.ts";

const ESPER = fileURLToPath(new URL("../../bin/esper.js", import.meta.url));

/** A free TCP port on 127.0.0.1 (for the stack's published ports). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}

/** Weatherlight's health snapshot at `http://127.0.0.1:<port>/healthz`, or undefined while it does not answer. */
export async function healthz(port: number): Promise<HealthSnapshot | undefined> {
  let res: Response;
  try {
    res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(5_000) });
  } catch {
    return undefined;
  }
  const body: unknown = await res.json().catch(() => undefined);
  const parsed = HealthSnapshot.safeParse(body);
  if (!parsed.success) throw new DrillError(`/healthz answered HTTP ${res.status} with no health snapshot`);
  return parsed.data;
}

/** Polls `check` every `everyMs` until it gives a value; a DrillError naming `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new DrillError(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** How `esper command` reached the operator's stack. */
export interface OperatorAccess {
  readonly natsUrl: string;
  readonly runId: string;
  readonly signingKey: string;
  readonly operatorPassword: string;
}

/** What `esper command --json --wait` said. */
export interface CommandOutcome {
  readonly commandId: string;
  readonly status: "applied" | "rejected";
  readonly detail: string;
}

/**
 * Runs `esper command --run RUN <flags> --wait --json` as its own process from outside the stack,
 * through the published NATS port as the `operator` user; its outcome, or a DrillError with its
 * exit code and output when it published nothing or got no outcome.
 */
export function esperCommand(
  access: OperatorAccess,
  flags: readonly string[],
  timeoutMs: number,
): Promise<CommandOutcome> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("ESPER_")));
  Object.assign(env, {
    ESPER_NAMESPACE: "esper",
    ESPER_SIGNING_KEY: access.signingKey,
    ESPER_NATS_USER: "operator",
    ESPER_NATS_PASS: access.operatorPassword,
  });
  const args = [
    ESPER,
    "command",
    "--run",
    access.runId,
    ...flags,
    "--wait",
    "--wait-timeout",
    String(timeoutMs),
    "--json",
    "--nats",
    access.natsUrl,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => {
      const line = stdout.trim().split("\n").at(-1) ?? "";
      let parsed: {
        commandId?: string;
        outcome?: { status: string; evidence?: string; reason?: string; detail?: string };
      };
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        reject(
          new DrillError(
            `esper command ${flags.join(" ")} exited with ${code}: ${tail(stderr || stdout, 8)}`,
          ),
        );
        return;
      }
      const o = parsed.outcome;
      if (
        parsed.commandId === undefined ||
        o === undefined ||
        (o.status !== "applied" && o.status !== "rejected")
      ) {
        reject(
          new DrillError(`esper command ${flags.join(" ")} exited with ${code} without an outcome: ${line}`),
        );
        return;
      }
      resolve({
        commandId: parsed.commandId,
        status: o.status,
        detail: o.status === "applied" ? (o.evidence ?? "") : `${o.reason ?? ""}: ${o.detail ?? ""}`,
      });
    });
  });
}
