import { parseArgs } from "node:util";
import { defaultInstanceId } from "../../actors/runtime/process-settings.ts";
import type { BusConnection } from "../../bus/connection.ts";
import { subscribe } from "../../bus/typed.ts";
import type { Heartbeat } from "../../contracts/messages/runtime.ts";
import { checkToken } from "../../contracts/subjects.ts";
import { connectFromFlags } from "../connect.ts";
import { errorText } from "../errors.ts";

const HELP = `usage: esper health ACTOR [--instance ID | --this-host] [--timeout MS] [--nats URL]

Waits for a heartbeat of ACTOR (heartbeat.<actor>) and says whether it is running: the health check
of a container (it only subscribes, so an actor's own NATS user may run it). With --instance (default:
ESPER_INSTANCE_ID when set) only that instance's heartbeats count; with --this-host only those of
instances with the default id of a process on this host, \`<hostname>-<pid>\` (in a container: its
own actor, not a replica's).

  --instance ID  the instance to check (default ESPER_INSTANCE_ID, else any instance)
  --this-host    only instances named \`<this hostname>-<pid>\`
  --timeout MS   how long to wait for a heartbeat (default 5000; heartbeats come every 1000 ms by default)
  --nats URL     NATS server URL(s), comma-separated (default: ESPER_NATS_URL, else nats://127.0.0.1:4222)

Environment: ESPER_NAMESPACE, ESPER_NATS_URL, ESPER_NATS_USER/ESPER_NATS_PASS, ESPER_INSTANCE_ID.
Exit codes: 0 a running heartbeat; 1 a heartbeat in another state (printed); 2 bad arguments;
3 NATS unreachable or no heartbeat within the timeout.`;

/** `esper health ACTOR`: waits for the actor's heartbeat; see HELP. */
export async function run(args: readonly string[]): Promise<number> {
  let actor: string;
  let instance: string | undefined;
  let hostPrefix: string | undefined;
  let timeoutMs: number;
  let nats: string | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: {
        instance: { type: "string" },
        "this-host": { type: "boolean" },
        timeout: { type: "string" },
        nats: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    const [name, ...extra] = positionals;
    if (name === undefined || extra.length > 0) throw new Error("give exactly one ACTOR");
    actor = checkToken("ACTOR", name);
    if (values["this-host"] === true) {
      if (values.instance !== undefined) throw new Error("give --instance or --this-host, not both");
      const own = defaultInstanceId();
      hostPrefix = own.slice(0, own.lastIndexOf("-") + 1);
    } else instance = values.instance ?? process.env.ESPER_INSTANCE_ID;
    const timeout = values.timeout ?? "5000";
    timeoutMs = Number(timeout);
    if (!/^\d+$/.test(timeout) || timeoutMs < 1)
      throw new Error(`--timeout must be a positive integer, got '${timeout}'`);
    nats = values.nats;
  } catch (error) {
    process.stderr.write(`esper health: ${errorText(error)}\n${HELP}\n`);
    return 2;
  }
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
