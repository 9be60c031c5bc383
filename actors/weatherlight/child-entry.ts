// The entry of the actor-child bundle (child-bundle.ts): `node dist/actor-child/actor-child.mjs <actor>`.
// The parent watch is imported first, so it is installed before any actor module is evaluated.
import "./parent-watch.ts";
import { actorModules } from "../registry.ts";
import { ActorExitCode } from "../runtime/exit-codes.ts";
import { runMain } from "../runtime/main-entry.ts";

const [name, ...extra] = process.argv.slice(2);
const load = name === undefined ? undefined : actorModules[name];
if (load === undefined || extra.length > 0) {
  const known = `actors: ${Object.keys(actorModules).join(", ")}`;
  process.stderr.write(
    `actor child: ${load === undefined ? `no actor named '${name ?? ""}'` : `unexpected arguments '${extra.join(" ")}'`} (${known})\n`,
  );
  process.exit(ActorExitCode.badConfig);
}
const { actor } = await load();
await runMain(actor);
