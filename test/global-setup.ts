import { ensureActorBundle } from "../actors/weatherlight/child-bundle.ts";

/** Vitest global setup: rebuilds the actor-child bundle when a source is newer, so tests never spawn a stale one. */
export default async function setup(): Promise<void> {
  const bundle = await ensureActorBundle();
  if (bundle.built) process.stderr.write(`test setup: rebuilt ${bundle.path}\n`);
}
