import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { HealthSnapshot } from "../../actors/weatherlight/system-health-schema.ts";
import { type BaseImages, ensureBaseImages } from "./base-images.ts";
import { ComposeProject, containerState } from "./compose-project.ts";
import { type DockerEngine, ensureDockerEngine } from "./docker-engine.ts";
import { DrillError } from "./drill-error.ts";
import { drillVariables, envFileText } from "./drill-variables.ts";
import {
  type CommandOutcome,
  esperCommand,
  freePort,
  healthz,
  type OperatorAccess,
  waitFor,
} from "./stack-probes.ts";
import { runToolOk } from "./tool-process.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

/** The drill's steps, in order; a failure names the one it happened in. */
export const DRILL_STEPS = [
  "engine",
  "base-images",
  "image-build",
  "compose-up",
  "healthy",
  "command",
  "kill-recover",
  "resume",
  "job",
  "down",
  "engine-stop",
] as const;
export type DrillStep = (typeof DRILL_STEPS)[number];

/** The services of docker-compose.yml the drill waits on. */
export const STACK_SERVICES = ["nats", "weatherlight", "urza", "kasmina", "tamiyo", "tolaria"] as const;
/** The actor whose container's process the drill kills (stateless, restarted by `restart: unless-stopped`). */
export const KILLED_SERVICE = "tamiyo";
/** The service whose container's creation lets the drill publish the pause (the one before Tolaria). */
const PAUSE_AFTER_SERVICE = "tamiyo";
/** The image the drill builds from the Dockerfile and the stack runs. */
export const DRILL_IMAGE = "esper-drill:latest";

/** Times of the drill, ms. */
export interface DrillFigures {
  /** Base images: official ones found, stand-ins built, or stand-ins found under their content tags. */
  baseImagesMs?: number;
  /** `docker build` of the Dockerfile on the base. */
  imageBuildMs?: number;
  /** `docker-compose up -d` until it returned (it starts each service once the previous one is healthy). */
  upMs?: number;
  /** From `up` to every container healthy and /healthz operational. */
  healthyMs?: number;
  /** `esper command --pause` (published once Weatherlight answers, before Tolaria starts) until applied. */
  pauseAppliedMs?: number;
  /** SIGKILL of the killed actor's process until /healthz is operational again with its restart counted. */
  recoveryMs?: number;
  /** `esper command --resume` until applied. */
  resumeAppliedMs?: number;
  /** Tolaria's container from start to its exit 0 at the job's end (the paused time included). */
  jobMs?: number;
  /** From the resume applied to Tolaria's exit 0. */
  jobAfterResumeMs?: number;
  /** `docker-compose down -v`. */
  downMs?: number;
  totalMs?: number;
}

/** What `esper drill compose` prints. */
export interface ComposeDrillReport {
  ok: boolean;
  failedStep?: DrillStep;
  error?: string;
  dockerdStartedHere?: boolean;
  images?: BaseImages & { readonly esper: string };
  project?: string;
  runId?: string;
  commands?: { pause?: CommandOutcome; resume?: CommandOutcome };
  kill?: {
    service: string;
    pid: number;
    how: string;
    dockerRestartCount: number;
    weatherlightRestarts: number;
  };
  figures: DrillFigures;
}

/** How the drill runs. */
export interface ComposeDrillOptions {
  /** A line per step (progress, on stderr from the CLI). */
  readonly log: (line: string) => void;
  /** Where dockerd writes its log when the drill starts it. */
  readonly dockerdLog?: string;
}

const since = (t: number): number => Math.round(performance.now() - t);

/**
 * `esper drill compose`: the compose stack for real. Starts dockerd when it is installed and not
 * running (and stops it at the end, also after a failure); base images (official, else stand-ins
 * built offline and cached: base-images.ts); builds the Dockerfile; `docker-compose up -d` under its
 * own project name with fresh secrets and free ports; publishes `esper command --pause` from outside
 * (published NATS port, operator user) once Tamiyo's container exists (before Tolaria's), so the job
 * is held at its first epoch boundary; waits until every container is healthy and /healthz is operational; SIGKILLs
 * the Tamiyo container's process (a crash: `docker kill` would count as a manual stop, which Docker's
 * restart policy never undoes) and waits for Docker to restart it and Weatherlight to count the
 * restart and say operational; `--resume`; waits for Tolaria to end the job with exit 0;
 * `docker-compose down -v`. Never throws: a failure is `ok: false` naming the step.
 */
export async function runComposeDrill(opts: ComposeDrillOptions): Promise<ComposeDrillReport> {
  const report: ComposeDrillReport = { ok: false, figures: {} };
  const figures = report.figures;
  const t0 = performance.now();
  let current: DrillStep = "engine";
  const step = async <T>(name: DrillStep, fn: () => Promise<T>): Promise<T> => {
    current = name;
    opts.log(`${name} …`);
    const t = performance.now();
    const value = await fn();
    opts.log(`${name} done (${since(t)} ms)`);
    return value;
  };
  const fail = (error: unknown): void => {
    if (report.failedStep !== undefined) return;
    report.failedStep = current;
    report.error = error instanceof Error ? error.message : String(error);
  };
  let engine: DockerEngine | undefined;
  try {
    engine = await step("engine", () =>
      ensureDockerEngine(opts.dockerdLog ?? join(tmpdir(), "esper-drill-dockerd.log")),
    );
    report.dockerdStartedHere = engine.startedHere;
    await drillOnEngine(report, step, opts, fail);
  } catch (error) {
    fail(error);
  } finally {
    if (engine !== undefined) {
      const stopping = engine;
      await step("engine-stop", () => stopping.stop()).catch(fail);
    }
  }
  figures.totalMs = since(t0);
  report.ok = report.failedStep === undefined;
  return report;
}

type Step = <T>(name: DrillStep, fn: () => Promise<T>) => Promise<T>;

/** The drill once an engine answers: images, then the stack (always brought down). */
async function drillOnEngine(
  report: ComposeDrillReport,
  step: Step,
  opts: ComposeDrillOptions,
  fail: (error: unknown) => void,
): Promise<void> {
  const figures = report.figures;
  let t = performance.now();
  const images = await step("base-images", () => ensureBaseImages(ROOT, opts.log));
  figures.baseImagesMs = since(t);
  t = performance.now();
  await step("image-build", () =>
    runToolOk("docker", ["build", "-q", "--build-arg", `BASE=${images.esperBase}`, "-t", DRILL_IMAGE, ROOT], {
      timeoutMs: 1_200_000,
      env: { ...process.env, DOCKER_BUILDKIT: "0" },
    }),
  );
  figures.imageBuildMs = since(t);
  report.images = { ...images, esper: DRILL_IMAGE };

  const work = await mkdtemp(join(tmpdir(), "esper-drill-"));
  const runId = `drill-${randomBytes(3).toString("hex")}`;
  const vars = drillVariables({
    images,
    esperImage: DRILL_IMAGE,
    runId,
    natsPort: await freePort(),
    healthPort: await freePort(),
    datasetDir: join(work, "datasets"),
  });
  await mkdir(join(work, "datasets"));
  await writeFile(join(work, "drill.env"), envFileText(vars), { mode: 0o600 });
  const project = new ComposeProject(
    ROOT,
    `esperdrill${randomBytes(3).toString("hex")}`,
    join(work, "drill.env"),
  );
  report.project = project.name;
  report.runId = runId;
  const access: OperatorAccess = {
    natsUrl: `nats://127.0.0.1:${vars.NATS_PORT}`,
    runId,
    signingKey: drillVariable(vars, "ESPER_SIGNING_KEY"),
    operatorPassword: drillVariable(vars, "ESPER_NATS_PASS_OPERATOR"),
  };
  const healthPort = Number(vars.ESPER_HEALTH_PORT);
  try {
    await stackDrill(report, step, project, access, healthPort);
  } catch (error) {
    fail(error);
    opts.log(`the stack's last log lines:\n${await project.logs(12)}`);
  } finally {
    t = performance.now();
    await step("down", () => project.run(["down", "-v", "--remove-orphans"], 300_000))
      .then(() => {
        figures.downMs = since(t);
      })
      .catch(fail);
    await rm(work, { recursive: true, force: true });
  }
}

/** Up, command, kill and recover, resume, job to its end. */
async function stackDrill(
  report: ComposeDrillReport,
  step: Step,
  project: ComposeProject,
  access: OperatorAccess,
  healthPort: number,
): Promise<void> {
  const figures = report.figures;
  const commands: NonNullable<ComposeDrillReport["commands"]> = {};
  report.commands = commands;
  const upStart = performance.now();
  let upError: unknown;
  const up = project.run(["up", "-d", "--no-build"], 1_200_000).then(
    () => {
      figures.upMs = since(upStart);
    },
    (error: unknown) => {
      upError = error;
    },
  );
  const pause = await step("compose-up", async () => {
    // Tamiyo's container is created once Kasmina is healthy, Tolaria's only once Tamiyo is: a pause
    // published now is stored before Tolaria starts and applied at its first epoch boundary (its
    // consumer replays the freshness window). Fresh for 4 minutes, within the nonce TTL (5).
    await waitFor(`${PAUSE_AFTER_SERVICE}'s container created`, 600_000, async () => {
      if (upError !== undefined) throw upError;
      return project.createdContainerOf(PAUSE_AFTER_SERVICE);
    });
    const published = performance.now();
    const outcome = esperCommand(
      access,
      ["--pause", "--reason", "esper drill compose: hold the job", "--freshness", "240000"],
      600_000,
    ).then((o) => ({ outcome: o, ms: since(published) }));
    outcome.catch(() => {});
    await up;
    if (upError !== undefined) throw upError;
    return outcome;
  });

  await step("healthy", () =>
    waitFor("every container healthy and /healthz operational", 600_000, async () => {
      for (const service of STACK_SERVICES) {
        const s = await containerState(await project.containerOf(service));
        if (s.status !== "running") throw new DrillError(`${service} is ${s.status} (exit ${s.exitCode})`);
        if (s.health !== "healthy") return undefined;
      }
      return (await healthz(healthPort))?.mode === "operational" ? true : undefined;
    }),
  );
  figures.healthyMs = since(upStart);

  await step("command", async () => {
    const { outcome, ms } = await pause;
    commands.pause = outcome;
    if (outcome.status !== "applied") throw new DrillError(`pause was rejected: ${outcome.detail}`);
    figures.pauseAppliedMs = ms;
  });

  await step("kill-recover", async () => {
    const id = await project.containerOf(KILLED_SERVICE);
    const before = await containerState(id);
    const restartsBefore = restartsOf(await requireHealth(healthPort), KILLED_SERVICE);
    const killed = performance.now();
    process.kill(before.pid, "SIGKILL");
    const snapshot = await waitFor(
      `${KILLED_SERVICE} restarted and /healthz operational`,
      120_000,
      async () => {
        const h = await healthz(healthPort);
        return h !== undefined && h.mode === "operational" && restartsOf(h, KILLED_SERVICE) > restartsBefore
          ? h
          : undefined;
      },
      100,
    );
    figures.recoveryMs = since(killed);
    const after = await containerState(id);
    if (after.restartCount <= before.restartCount) {
      throw new DrillError(`Docker did not restart ${KILLED_SERVICE} (restart count ${after.restartCount})`);
    }
    report.kill = {
      service: KILLED_SERVICE,
      pid: before.pid,
      how: "SIGKILL of the container's main process from the host (a crash; restart policy unless-stopped)",
      dockerRestartCount: after.restartCount,
      weatherlightRestarts: restartsOf(snapshot, KILLED_SERVICE),
    };
  });

  const tolaria = await project.containerOf("tolaria");
  const resumed = await step("resume", async () => {
    const s = await containerState(tolaria);
    if (s.status !== "running")
      throw new DrillError(`tolaria is ${s.status} before the resume: the pause did not hold`);
    const t = performance.now();
    const outcome = await esperCommand(
      access,
      ["--resume", "--reason", "esper drill compose: finish the job"],
      120_000,
    );
    commands.resume = outcome;
    if (outcome.status !== "applied") throw new DrillError(`resume was rejected: ${outcome.detail}`);
    figures.resumeAppliedMs = since(t);
    return performance.now();
  });

  await step("job", async () => {
    const code = Number((await runToolOk("docker", ["wait", tolaria], { timeoutMs: 900_000 })).trim());
    figures.jobAfterResumeMs = since(resumed);
    const s = await containerState(tolaria);
    if (code !== 0) throw new DrillError(`tolaria exited with ${code}, not 0 (the job's end)`);
    figures.jobMs = Date.parse(s.finishedAt) - Date.parse(s.startedAt);
  });
}

function restartsOf(h: HealthSnapshot, actor: string): number {
  const child = h.children.find((c) => c.actor === actor);
  if (child === undefined) throw new DrillError(`/healthz has no entry for ${actor}`);
  return child.restarts;
}

async function requireHealth(port: number): Promise<HealthSnapshot> {
  const h = await healthz(port);
  if (h === undefined) throw new DrillError(`/healthz on port ${port} does not answer`);
  return h;
}

/** A variable the drill generated for its stack; a DrillError when it is absent or empty. */
function drillVariable(vars: Readonly<Record<string, string | undefined>>, name: string): string {
  const value = vars[name];
  if (value === undefined || value === "") throw new DrillError(`the drill's variables lack ${name}`);
  return value;
}
