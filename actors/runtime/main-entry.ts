import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type ActorHandle, startActor } from "./actor.ts";
import type { ActorDefinition } from "./actor-types.ts";
import { ActorExitCode } from "./exit-codes.ts";

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
    process.exit(ActorExitCode.crashed);
  }
  const code = await handle.done;
  process.exit(code);
}
