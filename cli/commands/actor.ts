import { actorModules } from "../../actors/registry.ts";
import { ActorExitCode, isPermanentFailure } from "../../actors/runtime/exit-codes.ts";
import { runMain } from "../../actors/runtime/main-entry.ts";

function usage(): string {
  const names = Object.keys(actorModules);
  const codes = Object.entries(ActorExitCode).map(
    ([name, code]) => `    ${code} ${name}${isPermanentFailure(code) ? " (permanent: do not restart)" : ""}`,
  );
  return [
    "usage: esper actor <name>",
    `  actors: ${names.length > 0 ? names.join(", ") : "(none registered yet)"}`,
    "  The actor's preflight needs the settings bucket: start Weatherlight or run `esper resources ensure`.",
    "  exit codes:",
    ...codes,
  ].join("\n");
}

/** `esper actor <name>`: runs the named actor in this process until it drains; exits with its ActorExitCode. */
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
