/**
 * A stand-in supervisor for the parent-death test: spawns one fake actor through ActorChild (its
 * arguments are passed on to the fake actor), prints `child <pid>` on stdout and waits to be killed.
 */
import { ActorChild, watchedNodeCommand } from "../child-processes.ts";

const fakeActor = new URL("./fake-actor.ts", import.meta.url).pathname;
const child = await ActorChild.spawn(
  {
    name: "orphan",
    command: watchedNodeCommand(fakeActor, ["orphan", ...process.argv.slice(2)]),
    env: {
      namespace: "t",
      instanceId: "orphan-r1",
      natsServers: ["nats://127.0.0.1:1"],
      runId: "r1",
      signingKey: "k".repeat(16),
    },
  },
  (event) => {
    if (event.type === "output") process.stderr.write(`[orphan] ${event.line}\n`);
  },
);
process.stdout.write(`child ${child.pid}\n`);
setInterval(() => undefined, 1_000);
