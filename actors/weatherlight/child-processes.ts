import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freshActorBundle } from "./child-bundle.ts";
import { ChildSpawnError } from "./errors.ts";

/** What to execute for a child: an executable and its arguments. */
export interface ChildCommand {
  readonly file: string;
  readonly args: readonly string[];
}

/** The ESPER_* process settings a child actor gets (actors/runtime/process-settings.ts reads them). */
export interface ActorChildEnv {
  readonly namespace: string;
  /** ESPER_INSTANCE_ID: how the supervisor recognises the child's heartbeats. */
  readonly instanceId: string;
  readonly natsServers: readonly string[];
  readonly runId: string;
  readonly signingKey: string;
  readonly natsCredentials?: { readonly user: string; readonly pass: string };
  readonly logLevel?: string;
  /** ESPER_JOB, for the actors that belong to the run's job (Tolaria, Kasmina). */
  readonly job?: string;
  /** ESPER_FASHION_MNIST_DIR, for a job on Fashion-MNIST read from another directory than the package's. */
  readonly fashionMnistDir?: string;
  /** ESPER_TAMIYO_WAL_DIR, for Tamiyo: where its field-report write-ahead log lives. */
  readonly tamiyoWalDir?: string;
  /** ESPER_TOLARIA_CHECKPOINT_DIR, for Tolaria: where it writes its final checkpoint when halted. */
  readonly tolariaCheckpointDir?: string;
}

/** One actor child to start: its name (prefix of its output), command and settings. */
export interface ActorChildSpec {
  readonly name: string;
  readonly command: ChildCommand;
  readonly env: ActorChildEnv;
}

/** How a child ended: exit code, or the signal that killed it. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** What a child does, as reported to the supervisor. */
export type ChildEvent =
  | { readonly type: "spawned"; readonly actor: string; readonly pid: number }
  | {
      readonly type: "output";
      readonly actor: string;
      readonly stream: "stdout" | "stderr";
      readonly line: string;
    }
  | { readonly type: "error"; readonly actor: string; readonly pid: number; readonly message: string }
  | { readonly type: "stopping"; readonly actor: string; readonly pid: number; readonly graceMs: number }
  | { readonly type: "killed"; readonly actor: string; readonly pid: number; readonly graceMs: number }
  | {
      readonly type: "exited";
      readonly actor: string;
      readonly pid: number;
      readonly exit: ChildExit;
      /** Whether the exit followed a `stop()`. */
      readonly requested: boolean;
    };

/** The result of `stop`: how the child ended and whether the grace ran out (SIGKILL). */
export interface ChildStopResult {
  readonly exit: ChildExit;
  readonly killed: boolean;
}

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The preload that makes a child drain when its supervisor dies (see parent-watch.ts). */
export const PARENT_WATCH = fileURLToPath(new URL("./parent-watch.ts", import.meta.url));
/** Lines of stderr kept per child for failure messages. */
export const STDERR_TAIL_LINES = 20;

/**
 * The node command running `script args…` with the parent watch preloaded: `process.execPath --import
 * tsx --import parent-watch.ts script args…`.
 */
export function watchedNodeCommand(script: string, args: readonly string[]): ChildCommand {
  return { file: process.execPath, args: ["--import", "tsx", "--import", PARENT_WATCH, script, ...args] };
}

/**
 * The command that runs actor `name` as a child: `node dist/actor-child/actor-child.mjs <name>`, the
 * actor-child bundle (its entry installs the parent watch first). Source maps are written beside it
 * but not loaded (parsing them costs each start about 0.1 s): NODE_OPTIONS=--enable-source-maps in the
 * supervisor's environment gives the children source-mapped stack traces. Throws StaleActorBundleError,
 * naming the build command, when the bundle is missing or older than its sources.
 */
export function actorCommand(name: string): ChildCommand {
  return { file: process.execPath, args: [freshActorBundle(), name] };
}

/**
 * The child's environment: the parent's environment without any ESPER_* variable, plus the ESPER_*
 * variables built from `env`; an actor's settings come only from its spec, never inherited by accident.
 */
export function childEnvironment(
  env: ActorChildEnv,
  parent: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) if (v !== undefined && !k.startsWith("ESPER_")) out[k] = v;
  out.ESPER_NAMESPACE = env.namespace;
  out.ESPER_NATS_URL = env.natsServers.join(",");
  out.ESPER_INSTANCE_ID = env.instanceId;
  out.ESPER_RUN_ID = env.runId;
  out.ESPER_SIGNING_KEY = env.signingKey;
  if (env.natsCredentials !== undefined) {
    out.ESPER_NATS_USER = env.natsCredentials.user;
    out.ESPER_NATS_PASS = env.natsCredentials.pass;
  }
  if (env.logLevel !== undefined) out.ESPER_LOG_LEVEL = env.logLevel;
  if (env.job !== undefined) out.ESPER_JOB = env.job;
  if (env.fashionMnistDir !== undefined) out.ESPER_FASHION_MNIST_DIR = env.fashionMnistDir;
  if (env.tamiyoWalDir !== undefined) out.ESPER_TAMIYO_WAL_DIR = env.tamiyoWalDir;
  if (env.tolariaCheckpointDir !== undefined) out.ESPER_TOLARIA_CHECKPOINT_DIR = env.tolariaCheckpointDir;
  return out;
}

/** A running actor child: its output arrives as events, `stop()` ends it. */
export class ActorChild {
  /** Resolves once, when the child has exited. */
  readonly exited: Promise<ChildExit>;
  private exitValue: ChildExit | undefined;
  private stopRequested = false;
  private readonly tail: string[] = [];

  private constructor(
    readonly name: string,
    readonly pid: number,
    private readonly proc: ChildProcess,
    private readonly onEvent: (event: ChildEvent) => void,
  ) {
    // "close" (not "exit"): it comes after stdout and stderr are read to the end, so the tail is whole.
    this.exited = new Promise((resolve) => {
      proc.once("close", (code, signal) => {
        const exit = { code, signal };
        this.exitValue = exit;
        onEvent({ type: "exited", actor: name, pid, exit, requested: this.stopRequested });
        resolve(exit);
      });
    });
    // After the spawn, an error means a signal could not be delivered; it is reported, never dropped.
    proc.on("error", (error) => onEvent({ type: "error", actor: name, pid, message: error.message }));
    this.readLines("stdout");
    this.readLines("stderr");
  }

  /** Spawns the child; resolves once it runs, throws ChildSpawnError when it cannot be started. */
  static async spawn(spec: ActorChildSpec, onEvent: (event: ChildEvent) => void): Promise<ActorChild> {
    const proc = spawn(spec.command.file, [...spec.command.args], {
      cwd: REPO_ROOT,
      env: childEnvironment(spec.env),
      stdio: ["pipe", "pipe", "pipe"],
      // Its own process group: a terminal's Ctrl-C reaches only the supervisor, which stops the
      // children in reverse order; the parent watch stops them if the supervisor dies.
      detached: true,
    });
    await new Promise<void>((resolve, reject) => {
      const onSpawn = (): void => {
        proc.off("error", onError);
        resolve();
      };
      const onError = (error: Error): void => {
        proc.off("spawn", onSpawn);
        reject(new ChildSpawnError(spec.name, error));
      };
      proc.once("spawn", onSpawn);
      proc.once("error", onError);
    });
    const pid = proc.pid;
    if (pid === undefined) throw new ChildSpawnError(spec.name, new Error("the child has no pid"));
    // A write error on stdin only means the child is gone; its exit is reported by the exit event.
    proc.stdin?.on("error", () => undefined);
    onEvent({ type: "spawned", actor: spec.name, pid });
    return new ActorChild(spec.name, pid, proc, onEvent);
  }

  /** How the child ended, or undefined while it runs. */
  get exit(): ChildExit | undefined {
    return this.exitValue;
  }

  /** The last stderr lines (at most STDERR_TAIL_LINES). */
  stderrTail(): readonly string[] {
    return [...this.tail];
  }

  /** SIGTERM, then SIGKILL if the child has not exited within `graceMs`; resolves with how it ended. */
  async stop(graceMs: number): Promise<ChildStopResult> {
    if (this.exitValue !== undefined) return { exit: this.exitValue, killed: false };
    this.stopRequested = true;
    this.onEvent({ type: "stopping", actor: this.name, pid: this.pid, graceMs });
    this.proc.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<"grace">((resolve) => {
      timer = setTimeout(() => resolve("grace"), graceMs);
    });
    const first = await Promise.race([this.exited, graceOver]);
    clearTimeout(timer);
    if (first !== "grace") return { exit: first, killed: false };
    this.onEvent({ type: "killed", actor: this.name, pid: this.pid, graceMs });
    this.proc.kill("SIGKILL");
    return { exit: await this.exited, killed: true };
  }

  private readLines(stream: "stdout" | "stderr"): void {
    const source = this.proc[stream];
    if (source === null) return;
    source.setEncoding("utf8");
    let partial = "";
    const emit = (line: string): void => {
      if (stream === "stderr") {
        this.tail.push(line);
        if (this.tail.length > STDERR_TAIL_LINES) this.tail.shift();
      }
      this.onEvent({ type: "output", actor: this.name, stream, line });
    };
    source.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) emit(line);
    });
    source.on("end", () => {
      if (partial !== "") emit(partial);
      partial = "";
    });
  }
}
