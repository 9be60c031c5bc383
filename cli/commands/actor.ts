import type { Command } from "commander";
import { actorModules } from "../../actors/registry.ts";
import { ActorExitCode, isPermanentFailure } from "../../actors/runtime/exit-codes.ts";
import { runMain } from "../../actors/runtime/main-entry.ts";
import { helpFooter, natsOption, port, usageError } from "../flags.ts";

/** `esper actor <name> [--nats URL] [--http PORT] [--profile DIR]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Runs one actor in this process until SIGTERM/SIGINT drains it (a second signal exits at once). The " +
        "server needs JetStream, and the preflight needs the bus resources and the settings bucket: start the " +
        "stack with Weatherlight (`esper up`) or run `esper resources ensure` first.",
    )
    .argument("<name>", `the actor: ${Object.keys(actorModules).join(", ")}`)
    .addOption(natsOption())
    .option(
      "--http <port>",
      "weatherlight only (compose mode: it spawns no actor, compose restarts them): the port of /healthz and " +
        "/metrics, the same as ESPER_WEATHERLIGHT_HTTP_PORT (0: a free port); ESPER_WEATHERLIGHT_HTTP_HOST " +
        "(default 127.0.0.1) is the address it listens on",
      port,
    )
    .option(
      "--profile <dir>",
      "tolaria only: one Chrome trace file per epoch in DIR (ESPER_TOLARIA_PROFILE_DIR)",
    );
  helpFooter(cmd, {
    environment: [
      "(actors/runtime/process-settings.ts)",
      "ESPER_NAMESPACE (default esper), ESPER_NATS_URL (default nats://127.0.0.1:4222),",
      "ESPER_NATS_USER / ESPER_NATS_PASS (both or neither), ESPER_INSTANCE_ID (default <host>-<pid>),",
      "ESPER_RUN_ID (tolaria and kasmina belong to one run; generated and logged when unset),",
      "ESPER_SIGNING_KEY (kasmina and tamiyo: at least 16 characters, no default),",
      "ESPER_JOB (tolaria and kasmina: the job preset), ESPER_FASHION_MNIST_DIR,",
      "ESPER_LOG_LEVEL (default info), ESPER_LOG_PRETTY, ESPER_CONNECT_TIMEOUT_MS (default 5000).",
    ],
    exitCodes: Object.fromEntries(
      Object.entries(ActorExitCode).map(([name, code]) => [
        code,
        `${name}${isPermanentFailure(code) ? " (permanent: do not restart)" : ""}`,
      ]),
    ),
  });
}

/** `esper actor <name>`: runs the named actor in this process until it drains; exits with its ActorExitCode. */
export async function action(cmd: Command): Promise<number> {
  const name = cmd.args[0] as string;
  const o = cmd.opts<{ nats?: string; http?: number; profile?: string }>();
  const load = actorModules[name];
  if (load === undefined) {
    usageError(cmd, `no actor named '${name}' (actors: ${Object.keys(actorModules).join(", ")})`);
  }
  if (o.http !== undefined && name !== "weatherlight") usageError(cmd, "--http is for weatherlight only");
  if (o.profile !== undefined && name !== "tolaria") usageError(cmd, "--profile is for tolaria only");
  if (o.nats !== undefined) process.env.ESPER_NATS_URL = o.nats;
  if (o.http !== undefined) process.env.ESPER_WEATHERLIGHT_HTTP_PORT = String(o.http);
  if (o.profile !== undefined) process.env.ESPER_TOLARIA_PROFILE_DIR = o.profile;
  const { actor } = await load();
  return runMain(actor);
}
