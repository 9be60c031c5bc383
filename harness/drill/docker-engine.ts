import { spawn } from "node:child_process";
import { openSync } from "node:fs";
import { findExecutable } from "../../bus/server/executable-path.ts";
import { DrillError } from "./drill-error.ts";
import { runTool } from "./tool-process.ts";

/** A Docker engine the drill may use, and how to leave the machine as it was. */
export interface DockerEngine {
  /** Whether the drill started `dockerd` (and so stops it). */
  readonly startedHere: boolean;
  /** Stops `dockerd` when the drill started it (SIGTERM, SIGKILL after 30 s); else nothing. Safe to call twice. */
  stop(): Promise<void>;
}

const ANSWER_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 30_000;

/** Whether `docker info` gets an answer from an engine. */
async function engineAnswers(): Promise<boolean> {
  const r = await runTool("docker", ["info", "--format", "{{.ServerVersion}}"], { timeoutMs: 15_000 }).catch(
    () => undefined,
  );
  return r !== undefined && r.code === 0 && r.stdout.trim() !== "";
}

/**
 * A Docker engine that answers: the running one, or `dockerd` started here (as root; its log goes to
 * `logPath`) when it is installed and not running. Without the `docker` client or `dockerd` it is a
 * DrillError naming the Debian packages.
 */
export async function ensureDockerEngine(logPath: string): Promise<DockerEngine> {
  if (findExecutable("docker") === undefined) {
    throw new DrillError("the docker client is not on PATH: apt-get install docker.io docker-compose");
  }
  if (await engineAnswers()) return { startedHere: false, stop: async () => {} };
  const dockerd = findExecutable("dockerd");
  if (dockerd === undefined) {
    throw new DrillError("no Docker engine answers and dockerd is not on PATH: apt-get install docker.io");
  }
  const log = openSync(logPath, "a");
  // In the drill's process group: a Ctrl-C of the drill stops it too (dockerd shuts down on SIGINT).
  const child = spawn(dockerd, [], { stdio: ["ignore", log, log] });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const stop = async (): Promise<void> => {
    if (gone) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + ANSWER_TIMEOUT_MS;
  while (!(await engineAnswers())) {
    if (gone) throw new DrillError(`dockerd exited at start (its log: ${logPath})`);
    if (Date.now() > deadline) {
      await stop();
      throw new DrillError(`dockerd did not answer within ${ANSWER_TIMEOUT_MS} ms (its log: ${logPath})`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return { startedHere: true, stop };
}
