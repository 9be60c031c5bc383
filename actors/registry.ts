import type { ActorDefinition } from "./runtime/actor-types.ts";

/** A lazily loaded actor module: `actors/<name>/main.ts` exports `actor`. */
export type ActorModuleLoader = () => Promise<{ readonly actor: ActorDefinition }>;

/**
 * The actors `esper actor <name>` can start, by name. Each actor's issue adds its entry when its
 * `actors/<name>/main.ts` lands (weatherlight, tolaria, tamiyo, kasmina, urza).
 */
export const actorModules: Readonly<Record<string, ActorModuleLoader>> = {
  kasmina: () => import("./kasmina/main.ts"),
  tamiyo: () => import("./tamiyo/main.ts"),
  tolaria: () => import("./tolaria/main.ts"),
  urza: () => import("./urza/main.ts"),
  // Compose mode (no children); `esper up` builds its embedded Weatherlight with createWeatherlight.
  weatherlight: () => import("./weatherlight/compose-service.ts"),
};
