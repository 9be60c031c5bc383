import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type ActorHandle, startActor } from "./actor.ts";
import { type ActorDefinition, ActorExitCode } from "./actor-types.ts";

/**
 * The actors `esper actor <name>` can start. Each lives in `actors/<name>/main.ts`, which exports
 * `actor: ActorDefinition` and ends with `if (isProcessEntry(import.meta.url)) await runMain(actor)`
 * so that `node --import tsx actors/<name>/main.ts` starts it too. Later issues add the modules.
 */
export const actorNames = ["weatherlight", "tolaria", "tamiyo", "kasmina", "urza"] as const;
/** The name of a registered actor. */
export type ActorName = (typeof actorNames)[number];

/** Whether the module at `moduleUrl` is the script node was started with. */
export function isProcessEntry(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** Runs `def` as this process's actor and exits with its exit code when it stops. */
export async function runMain(def: ActorDefinition): Promise<never> {
  let handle: ActorHandle;
  try {
    handle = startActor(def);
  } catch (error) {
    process.stderr.write(`${def.name}: ${(error as Error).message}\n`);
    process.exit(ActorExitCode.failed);
  }
  const code = await handle.done;
  process.exit(code);
}

const USAGE = `usage: esper actor <name>\n  names: ${actorNames.join(", ")}`;

/** `esper actor <name>`: starts the named actor in this process (CommandModule signature). */
export async function run(args: readonly string[]): Promise<number> {
  const name = args[0];
  if (name === undefined || name === "--help" || args.length > 1) {
    (name === "--help" ? process.stdout : process.stderr).write(`${USAGE}\n`);
    return name === "--help" ? 0 : 2;
  }
  if (!(actorNames as readonly string[]).includes(name)) {
    process.stderr.write(`esper actor: unknown actor '${name}'\n${USAGE}\n`);
    return 2;
  }
  let mod: { actor?: ActorDefinition };
  try {
    mod = (await import(`../${name}/main.ts`)) as { actor?: ActorDefinition };
  } catch (error) {
    process.stderr.write(`esper actor: cannot load actors/${name}/main.ts: ${(error as Error).message}\n`);
    return ActorExitCode.failed;
  }
  if (mod.actor === undefined) {
    process.stderr.write(`esper actor: actors/${name}/main.ts does not export 'actor'\n`);
    return ActorExitCode.failed;
  }
  return runMain(mod.actor);
}
