import { actorModules } from "../../actors/registry.ts";
import { runMain } from "../../actors/runtime/main-entry.ts";

function usage(): string {
  const names = Object.keys(actorModules);
  return `usage: esper actor <name>\n  actors: ${names.length > 0 ? names.join(", ") : "(none registered yet)"}`;
}

/** `esper actor <name>`: runs the named actor in this process until it drains. */
export async function run(args: readonly string[]): Promise<number> {
  const name = args[0];
  if (name === "--help") {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const load = name === undefined || args.length > 1 ? undefined : actorModules[name];
  if (load === undefined) {
    process.stderr.write(
      `esper actor: ${name === undefined ? "an actor name is required" : `no actor named '${args.join(" ")}'`}\n${usage()}\n`,
    );
    return 2;
  }
  const { actor } = await load();
  return runMain(actor);
}
