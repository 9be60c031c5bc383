import { type ChildCommand, watchedNodeCommand } from "../child-processes.ts";

const FAKE_ACTOR = new URL("./fake-actor.ts", import.meta.url).pathname;

/** The command running testing/fake-actor.ts as `name` with `key=value` options, parent-watched. */
export function fakeActorCommand(name: string, options: Readonly<Record<string, string>> = {}): ChildCommand {
  return watchedNodeCommand(FAKE_ACTOR, [name, ...Object.entries(options).map(([k, v]) => `${k}=${v}`)]);
}
