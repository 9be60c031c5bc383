// The entry of the actor-child bundle (child-bundle.ts): `node dist/actor-child.mjs <actor>`.
// The parent watch is imported first, so it is installed before any actor module is evaluated.
import "./parent-watch.ts";
import { actorModules } from "../registry.ts";
import { ActorExitCode } from "../runtime/exit-codes.ts";
import { runMain } from "../runtime/main-entry.ts";

const name = process.argv[2];
const load = name === undefined ? undefined : actorModules[name];
if (load === undefined || process.argv.length !== 3) {
  process.stderr.write(
    `actor child: expected one actor name (${Object.keys(actorModules).join(", ")}), got '${process.argv.slice(2).join(" ")}'\n`,
  );
  process.exit(ActorExitCode.badConfig);
}
const { actor } = await load();
await runMain(actor);
