import { findExecutable } from "../../bus/server/executable-path.ts";
import { DrillError } from "./drill-error.ts";
import { runTool, runToolOk } from "./tool-process.ts";

/** The variables docker-compose.yml reads from the environment (and the drill sets). */
export type ComposeVariables = Readonly<Record<string, string>>;

/**
 * One docker-compose project of the repository's docker-compose.yml under its own project name, with
 * its variables in an env file. The process environment's ESPER_* and NATS_* are left out, so a
 * shell's settings cannot change what the drill runs.
 */
export class ComposeProject {
  private readonly compose: string;

  constructor(
    readonly root: string,
    readonly name: string,
    private readonly envFile: string,
  ) {
    const compose = findExecutable("docker-compose");
    if (compose === undefined)
      throw new DrillError("docker-compose is not on PATH: apt-get install docker-compose");
    this.compose = compose;
  }

  private env(): NodeJS.ProcessEnv {
    return Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith("ESPER_") && !k.startsWith("NATS_")),
    );
  }

  private args(rest: readonly string[]): string[] {
    return ["-f", `${this.root}/docker-compose.yml`, "-p", this.name, "--env-file", this.envFile, ...rest];
  }

  /** `docker-compose …`; its stdout, a DrillError with the stderr's tail on a non-zero exit. */
  run(rest: readonly string[], timeoutMs: number): Promise<string> {
    return runToolOk(this.compose, this.args(rest), { cwd: this.root, env: this.env(), timeoutMs });
  }

  /** The container id of `service` (its one container), or undefined while compose has not created it. */
  async createdContainerOf(service: string): Promise<string | undefined> {
    const id = (await this.run(["ps", "-q", service], 60_000)).trim();
    if (id === "") return undefined;
    if (!/^[0-9a-f]{12,64}$/.test(id))
      throw new DrillError(`not one container id for service ${service}: '${id}'`);
    return id;
  }

  /** The container id of `service` (its one container); a DrillError when there is none. */
  async containerOf(service: string): Promise<string> {
    const id = await this.createdContainerOf(service);
    if (id === undefined) throw new DrillError(`no container of service ${service}`);
    return id;
  }

  /** The last `lines` lines of every service's log (for a failure's diagnosis); never throws. */
  async logs(lines: number): Promise<string> {
    const r = await runTool(this.compose, this.args(["logs", "--no-color", "--tail", String(lines)]), {
      cwd: this.root,
      env: this.env(),
      timeoutMs: 60_000,
    }).catch((error: unknown) => ({ stdout: "", stderr: String(error) }));
    return r.stdout + r.stderr;
  }
}

/** A container's state as `docker inspect` says it. */
export interface ContainerState {
  readonly status: string;
  /** `healthy`, `unhealthy`, `starting`, or undefined without a health check. */
  readonly health: string | undefined;
  readonly pid: number;
  readonly exitCode: number;
  readonly restartCount: number;
  readonly startedAt: string;
  readonly finishedAt: string;
}

/** `docker inspect` of one container. */
export async function containerState(id: string): Promise<ContainerState> {
  const out = await runToolOk("docker", ["inspect", "--format", "{{json .State}}|{{.RestartCount}}", id], {
    timeoutMs: 30_000,
  });
  const [json = "", restarts = ""] = out.trim().split("|");
  const s = JSON.parse(json) as {
    Status: string;
    Health?: { Status: string };
    Pid: number;
    ExitCode: number;
    StartedAt: string;
    FinishedAt: string;
  };
  return {
    status: s.Status,
    health: s.Health?.Status,
    pid: s.Pid,
    exitCode: s.ExitCode,
    restartCount: Number(restarts),
    startedAt: s.StartedAt,
    finishedAt: s.FinishedAt,
  };
}
