import { actorModules } from "../../actors/registry.ts";
import { ActorExitCode, isPermanentFailure } from "../../actors/runtime/exit-codes.ts";
import { runMain } from "../../actors/runtime/main-entry.ts";

function usage(): string {
  const names = Object.keys(actorModules);
  const codes = Object.entries(ActorExitCode).map(
    ([name, code]) => `    ${code} ${name}${isPermanentFailure(code) ? " (permanent: do not restart)" : ""}`,
  );
  return [
    "usage: esper actor <name> [--nats URL] [--http PORT] [--profile DIR]",
    `  actors: ${names.join(", ")}`,
    "  Runs one actor in this process until SIGTERM/SIGINT drains it (a second signal exits at once).",
    "  --nats URL  the NATS server(s), comma-separated; the same as ESPER_NATS_URL",
    "  --http PORT weatherlight only (compose mode: it spawns no actor, compose restarts them): the port",
    "              of /healthz and /metrics, the same as ESPER_WEATHERLIGHT_HTTP_PORT (0: a free port);",
    "              ESPER_WEATHERLIGHT_HTTP_HOST (default 127.0.0.1) is the address it listens on",
    "  --profile DIR  tolaria only: one Chrome trace file per epoch in DIR (ESPER_TOLARIA_PROFILE_DIR)",
    "  Environment (actors/runtime/process-settings.ts):",
    "    ESPER_NAMESPACE (default esper), ESPER_NATS_URL (default nats://127.0.0.1:4222),",
    "    ESPER_NATS_USER / ESPER_NATS_PASS (both or neither), ESPER_INSTANCE_ID (default <host>-<pid>),",
    "    ESPER_RUN_ID (tolaria and kasmina belong to one run; generated and logged when unset),",
    "    ESPER_SIGNING_KEY (kasmina and tamiyo: at least 16 characters, no default),",
    "    ESPER_JOB (tolaria and kasmina: the job preset), ESPER_FASHION_MNIST_DIR,",
    "    ESPER_LOG_LEVEL (default info), ESPER_LOG_PRETTY, ESPER_CONNECT_TIMEOUT_MS (default 5000).",
    "  The server needs JetStream, and the preflight needs the bus resources and the settings bucket:",
    "  start the stack with Weatherlight (`esper up`) or run `esper resources ensure` first.",
    "  exit codes:",
    ...codes,
  ].join("\n");
}

/** `esper actor <name> [--nats URL]`: runs the named actor in this process until it drains; exits with its ActorExitCode. */
export async function run(args: readonly string[]): Promise<number> {
  if (args[0] === "--help" || args[0] === "-h") {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const [name, ...rest] = args;
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 2) {
    const flag = rest[i];
    const value = rest[i + 1];
    const allowed =
      flag === "--nats" ||
      (flag === "--http" && name === "weatherlight") ||
      (flag === "--profile" && name === "tolaria");
    if (flag === undefined || value === undefined || !allowed || flags.has(flag)) {
      process.stderr.write(
        `esper actor: unexpected arguments '${rest.join(" ")}' (see esper actor --help)\n`,
      );
      return 2;
    }
    flags.set(flag, value);
  }
  const nats = flags.get("--nats");
  const http = flags.get("--http");
  const profile = flags.get("--profile");
  const load = name === undefined ? undefined : actorModules[name];
  if (load === undefined) {
    const known = `actors: ${Object.keys(actorModules).join(", ")}; see esper actor --help`;
    process.stderr.write(
      `esper actor: ${name === undefined ? "an actor name is required" : `no actor named '${name}'`}\n${known}\n`,
    );
    return 2;
  }
  if (nats !== undefined) process.env.ESPER_NATS_URL = nats;
  if (http !== undefined) process.env.ESPER_WEATHERLIGHT_HTTP_PORT = http;
  if (profile !== undefined) process.env.ESPER_TOLARIA_PROFILE_DIR = profile;
  const { actor } = await load();
  return runMain(actor);
}
