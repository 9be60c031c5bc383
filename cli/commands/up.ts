import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Command, Option } from "commander";
import pino from "pino";
import { startActor } from "../../actors/runtime/actor.ts";
import { ActorExitCode } from "../../actors/runtime/exit-codes.ts";
import { LOG_LEVELS, type LogLevel } from "../../actors/runtime/logger.ts";
import { loadProcessSettings } from "../../actors/runtime/process-settings.ts";
import type { EmbeddedRunResult } from "../../actors/weatherlight/embedded-run.ts";
import { childInstanceId } from "../../actors/weatherlight/embedded-run.ts";
import { createWeatherlight } from "../../actors/weatherlight/main.ts";
import { ProgressWriter, progressMode, renderChildLine } from "../../actors/weatherlight/progress.ts";
import { type LocalNatsServer, startLocalNatsServer } from "../../bus/server/local-nats-server.ts";
import {
  authorizationConfig,
  OPERATOR_USER,
  passwordEnvironment,
  passwordVariable,
  randomStackPasswords,
  type StackUser,
} from "../../bus/server/permissions.ts";
import { DEFAULT_JOB, JOB_ENV, jobPresets } from "../../nn/presets/job-selection.ts";
import { helpFooter, jsonOption, port, usageError } from "../flags.ts";

/** `esper up [--nats URL] [--dataset NAME | --job NAME] [--run-dir DIR] [--runs DIR] [--json] [--log-level LEVEL] [--http PORT]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      [
        "Runs one training job on a stack of its own: starts a private nats-server with JetStream on a free " +
          "port with a temporary store directory and one NATS user per actor (each may publish only the " +
          "subjects it owns; random passwords made for this start) plus the user `operator` (or uses --nats), " +
          "then Weatherlight, which declares the bus resources, writes the worker settings and starts urza, " +
          "kasmina, tamiyo and tolaria as child processes in that order, each once the previous one is running.",
        "When Tolaria ends the job, the actors are stopped in reverse order and the run directory is written: " +
          "summary.json (per-epoch loss and accuracy, parameter count, each seed's stage timeline, commands " +
          "issued/applied/rejected, decision timeouts), bus.esperrec (the run's bus traffic; read it with " +
          "`esper replay`), telemetry.jsonl (the run's telemetry packets, one per line), tamiyo/ (Tamiyo's " +
          "field-report write-ahead log), tolaria/ (Tolaria's checkpoint when halted).",
        "A killed actor is restarted with backoff (Tolaria excepted: its crash ends the run); one that exits " +
          "with a permanent code ends the run as failed; past the restart intensity the system is degraded, " +
          "Tolaria gets a signed HALT command (its final checkpoint goes to <run dir>/tolaria) and the run fails.",
        "Progress: a live line on a terminal, plain lines otherwise, JSON lines with --json (on stdout; the " +
          "actors' log lines go to stderr). Ctrl-C stops the stack cleanly; a second Ctrl-C exits at once.",
      ].join("\n\n"),
    )
    .option("--nats <url>", "use this NATS server (JetStream enabled) instead of starting one")
    .addOption(
      new Option(
        "--dataset <name>",
        `spirals (default job ${DEFAULT_JOB}) or fashion-mnist (needs the Debian package dataset-fashion-mnist, or ESPER_FASHION_MNIST_DIR)`,
      ).conflicts("job"),
    )
    .addOption(
      new Option("--job <name>", `a job preset by name (default: $${JOB_ENV} or ${DEFAULT_JOB})`).choices(
        Object.keys(jobPresets),
      ),
    )
    .option("--run-dir <dir>", "the run directory (must be empty or absent); default <runs>/<run id>")
    .option("--runs <dir>", "where run directories are made", "runs")
    .addOption(jsonOption("progress as JSON lines"))
    .addOption(
      new Option("--log-level <level>", "log level of the actors").choices(LOG_LEVELS).default("warn"),
    )
    .option(
      "--http <port>",
      "Weatherlight's health endpoint on 127.0.0.1: GET /healthz (JSON; 503 when degraded) and GET /metrics " +
        "(Prometheus); 0: a free port, said at start (read it with `esper status --url <url>`)",
      port,
      0,
    );
  helpFooter(cmd, {
    environment: [
      "ESPER_NAMESPACE (default esper), ESPER_RUN_ID (default generated), ESPER_SIGNING_KEY (default: a random",
      "key for this stack only, said at start), ESPER_NATS_USER/PASS with --nats, $" +
        JOB_ENV +
        " (the default job);",
      "ESPER_NATS_PASS_OPERATOR: the password of the private server's user `operator`, for `esper command`",
      "and the other operator commands (default: random, then no client outside the stack can connect).",
      "Needs the nats-server binary without --nats: apt-get install nats-server.",
    ],
    exitCodes: {
      0: "the job completed",
      1: "it failed (the reason is printed)",
      2: "bad arguments",
      130: "stopped by Ctrl-C",
      other: "Weatherlight's own exit code (esper actor --help)",
    },
  });
}

interface UpOptions {
  readonly nats?: string;
  readonly job: string;
  readonly runDir?: string;
  readonly runsRoot: string;
  readonly json: boolean;
  readonly logLevel: LogLevel;
  readonly httpPort: number;
}

/** The job preset whose data set is `dataset` (the default job when several use it). */
function jobOfDataset(dataset: string): string {
  const all = Object.values(jobPresets).filter((p) => p.dataset.kind === dataset);
  const matching = all.some((p) => p.name === DEFAULT_JOB) ? all.filter((p) => p.name === DEFAULT_JOB) : all;
  const kinds = [...new Set(Object.values(jobPresets).map((p) => p.dataset.kind))];
  const [only, ...more] = matching;
  if (only === undefined) throw new Error(`--dataset must be one of ${kinds.join(", ")}, got '${dataset}'`);
  if (more.length > 0) {
    throw new Error(
      `--dataset ${dataset} fits several jobs (${matching.map((p) => p.name).join(", ")}): use --job`,
    );
  }
  return only.name;
}

function optionsOf(cmd: Command): UpOptions {
  const o = cmd.opts<{
    nats?: string;
    dataset?: string;
    job?: string;
    runDir?: string;
    runs: string;
    json?: true;
    logLevel: LogLevel;
    http: number;
  }>();
  let job: string;
  try {
    job = o.dataset !== undefined ? jobOfDataset(o.dataset) : (o.job ?? process.env[JOB_ENV] ?? DEFAULT_JOB);
  } catch (error) {
    usageError(cmd, (error as Error).message);
  }
  if (jobPresets[job] === undefined) {
    usageError(cmd, `$${JOB_ENV} must be one of ${Object.keys(jobPresets).join(", ")}, got '${job}'`);
  }
  return {
    job,
    httpPort: o.http,
    runsRoot: o.runs,
    json: o.json === true,
    logLevel: o.logLevel,
    ...(o.nats !== undefined ? { nats: o.nats } : {}),
    ...(o.runDir !== undefined ? { runDir: o.runDir } : {}),
  };
}

/** A run id that sorts by start time: `run-YYYYMMDD-HHMMSS-<4 hex>`. */
function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `run-${stamp}-${randomBytes(2).toString("hex")}`;
}

/** `esper up`: one job on its own stack, to the end. */
export async function action(cmd: Command): Promise<number> {
  const opts = optionsOf(cmd);
  const say = (line: string): void => void process.stderr.write(`esper up: ${line}\n`);
  let server: LocalNatsServer | undefined;
  let storeDir: string | undefined;
  const stopServerOnExit = (): void => {
    if (server !== undefined) process.kill(server.pid, "SIGTERM");
  };
  try {
    let natsUrl = opts.nats;
    let passwords: Record<StackUser, string> | undefined;
    if (natsUrl === undefined) {
      const namespace = loadProcessSettings().namespace;
      passwords = randomStackPasswords();
      const operatorPass = process.env[passwordVariable(OPERATOR_USER)];
      if (operatorPass !== undefined) passwords[OPERATOR_USER] = operatorPass;
      storeDir = await mkdtemp(join(tmpdir(), "esper-up-nats-"));
      server = await startLocalNatsServer({
        storeDir,
        detached: true,
        extraConfig: authorizationConfig(namespace),
        env: passwordEnvironment(passwords),
      });
      process.once("exit", stopServerOnExit);
      natsUrl = server.url;
      say(`nats-server ${server.url} (pid ${server.pid}, store ${storeDir}, one user per actor)`);
      if (operatorPass === undefined) {
        say(`${passwordVariable(OPERATOR_USER)} is not set: the operator user has a random password`);
      }
    }
    return await runStack(opts, natsUrl, say, passwords);
  } finally {
    process.off("exit", stopServerOnExit);
    await server?.stop();
    if (storeDir !== undefined) await rm(storeDir, { recursive: true, force: true });
  }
}

/**
 * Runs Weatherlight on `natsUrl`. With `passwords` (the private server's users) Weatherlight and each
 * child connect as their own user; without, they use ESPER_NATS_USER/PASS when set.
 */
async function runStack(
  opts: UpOptions,
  natsUrl: string,
  say: (line: string) => void,
  passwords: Readonly<Record<StackUser, string>> | undefined,
): Promise<number> {
  const runId = process.env.ESPER_RUN_ID ?? newRunId();
  let signingKey = process.env.ESPER_SIGNING_KEY;
  if (signingKey === undefined) {
    signingKey = randomBytes(32).toString("hex");
    say("ESPER_SIGNING_KEY is not set: this stack's actors share a random key made for this run");
  }
  const progress = new ProgressWriter(process.stdout, progressMode(process.stdout, opts.json), runId);
  const weatherlight = createWeatherlight({
    runDirectory: opts.runDir !== undefined ? { dir: opts.runDir } : { root: opts.runsRoot },
    job: opts.job,
    childLogLevel: opts.logLevel,
    settings: {},
    http: { port: opts.httpPort, onListening: (url) => say(`health ${url}/healthz`) },
    onEvent: (event) => progress.event(event),
    onChildOutput: (event) => void process.stderr.write(`${renderChildLine(event)}\n`),
    ...(passwords !== undefined
      ? {
          childCredentials: (actor: string) => {
            const pass = passwords[actor as StackUser];
            if (pass === undefined) throw new Error(`no NATS user for actor '${actor}'`);
            return { user: actor, pass };
          },
        }
      : {}),
    ...(process.env.ESPER_FASHION_MNIST_DIR !== undefined
      ? { fashionMnistDir: process.env.ESPER_FASHION_MNIST_DIR }
      : {}),
  });
  let result: EmbeddedRunResult | undefined;
  weatherlight.result.then(
    (r) => {
      result = r;
    },
    // A run that could not be set up fails Weatherlight's task: the runtime reports it (stderr,
    // CRITICAL telemetry) and `handle.done` carries its exit code, which is returned below.
    () => undefined,
  );
  say(`run ${runId}, job ${opts.job}`);
  const env: Record<string, string> = {
    ESPER_NATS_URL: natsUrl,
    ESPER_RUN_ID: runId,
    ESPER_SIGNING_KEY: signingKey,
    ESPER_INSTANCE_ID: childInstanceId("weatherlight", runId),
    ESPER_LOG_LEVEL: opts.logLevel,
    ESPER_LOG_PRETTY: "0",
  };
  const inherited = ["ESPER_NAMESPACE", "ESPER_CONNECT_TIMEOUT_MS"];
  if (passwords === undefined) inherited.push("ESPER_NATS_USER", "ESPER_NATS_PASS");
  else {
    env.ESPER_NATS_USER = "weatherlight";
    env.ESPER_NATS_PASS = passwords.weatherlight;
  }
  for (const name of inherited) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  const handle = startActor(weatherlight.actor, { env, logDestination: pino.destination(2) });
  let interrupted = false;
  const onInterrupt = (): void => {
    interrupted = true;
  };
  process.once("SIGINT", onInterrupt);
  const code = await handle.done;
  process.off("SIGINT", onInterrupt);
  progress.close();
  if (result !== undefined) {
    say(`run ${result.outcome}: ${result.reason}`);
    say(`run directory ${result.directory}`);
    if (result.outcome === "completed") return 0;
    if (result.outcome === "stopped") return interrupted ? 130 : 1;
    return 1;
  }
  if (interrupted) return 130;
  return code === ActorExitCode.ok ? 1 : code;
}
