import { type Command, Option } from "commander";
import { defaultInstanceId } from "../../actors/runtime/process-settings.ts";
import type { BusConnection } from "../../bus/connection.ts";
import { subscribe } from "../../bus/typed.ts";
import type { Heartbeat } from "../../contracts/messages/runtime.ts";
import { checkToken } from "../../contracts/subjects.ts";
import { connectFromFlags } from "../connect.ts";
import { errorText } from "../errors.ts";
import { durationMs, helpFooter, NATS_ENVIRONMENT, natsOption, usageError } from "../flags.ts";

/** `esper health ACTOR [--instance ID | --this-host] [--timeout MS] [--nats URL]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Waits for a heartbeat of ACTOR (heartbeat.<actor>) and says whether it is running: the health check " +
        "of a container (it only subscribes, so an actor's own NATS user may run it). With --instance " +
        "(default: ESPER_INSTANCE_ID when set) only that instance's heartbeats count; with --this-host only " +
        "those of instances with the default id of a process on this host, `<hostname>-<pid>` (in a " +
        "container: its own actor, not a replica's).",
    )
    .argument("<actor>", "the actor")
    .addOption(
      new Option(
        "--instance <id>",
        "the instance to check (default ESPER_INSTANCE_ID, else any instance)",
      ).conflicts("thisHost"),
    )
    .option("--this-host", "only instances named `<this hostname>-<pid>`")
    .option(
      "--timeout <ms>",
      "how long to wait for a heartbeat (heartbeats come every 1000 ms by default)",
      durationMs(),
      5_000,
    )
    .addOption(natsOption());
  helpFooter(cmd, {
    environment: [...NATS_ENVIRONMENT, "ESPER_INSTANCE_ID: the default of --instance"],
    exitCodes: {
      0: "a running heartbeat",
      1: "a heartbeat in another state (printed)",
      2: "bad arguments",
      3: "NATS unreachable or no heartbeat within the timeout",
    },
  });
}

/** `esper health ACTOR`: waits for the actor's heartbeat. */
export async function action(cmd: Command): Promise<number> {
  const o = cmd.opts<{ instance?: string; thisHost?: true; timeout: number; nats?: string }>();
  let actor: string;
  try {
    actor = checkToken("ACTOR", cmd.args[0] as string);
  } catch (error) {
    usageError(cmd, errorText(error));
  }
  let instance: string | undefined;
  let hostPrefix: string | undefined;
  if (o.thisHost === true) {
    const own = defaultInstanceId();
    hostPrefix = own.slice(0, own.lastIndexOf("-") + 1);
  } else instance = o.instance ?? process.env.ESPER_INSTANCE_ID;
  const timeoutMs = o.timeout;
  const nats = o.nats;
  let bus: BusConnection;
  try {
    bus = await connectFromFlags(nats, `esper-health-${actor}`);
  } catch (error) {
    process.stderr.write(`esper health: ${errorText(error)}\n`);
    return 3;
  }
  try {
    const beat = await new Promise<Heartbeat | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      const sub = subscribe(
        bus,
        "heartbeat",
        (hb) => {
          if (instance !== undefined && hb.instanceId !== instance) return;
          if (hostPrefix !== undefined && !hb.instanceId.startsWith(hostPrefix)) return;
          clearTimeout(timer);
          void sub.stop(0);
          resolve(hb);
        },
        { params: { actor } },
      );
    });
    if (beat === undefined) {
      process.stderr.write(
        `esper health: no heartbeat of ${actor}${instance !== undefined ? ` instance ${instance}` : ""}${hostPrefix !== undefined ? ` instance ${hostPrefix}<pid>` : ""} within ${timeoutMs} ms\n`,
      );
      return 3;
    }
    process.stdout.write(
      `${actor} ${beat.instanceId} ${beat.state} (pid ${beat.pid}, up ${beat.uptimeMs} ms)\n`,
    );
    return beat.state === "running" ? 0 : 1;
  } finally {
    await bus.close();
  }
}
