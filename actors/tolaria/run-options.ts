/** Tolaria's process options read from the environment: PCGrad aggregation and the profiler's trace directory. */

/** Environment variable: "1" lets PCGrad's aggregate replace the shared host gradients, "0" (or unset) keeps the sum. */
export const PCGRAD_ENV = "ESPER_TOLARIA_PCGRAD";
/** Environment variable: a directory for one Chrome trace file per epoch (`esper actor tolaria --profile DIR`). */
export const PROFILE_DIR_ENV = "ESPER_TOLARIA_PROFILE_DIR";

/** What the environment asks of Tolaria. */
export interface TolariaRunOptions {
  readonly pcgrad: boolean;
  readonly profileDir?: string;
}

/** Reads the options; a value other than "0"/"1" for PCGrad or an empty profile directory is an error naming the variable. */
export function tolariaRunOptions(env: Readonly<Record<string, string | undefined>>): TolariaRunOptions {
  const p = env[PCGRAD_ENV];
  if (p !== undefined && p !== "0" && p !== "1")
    throw new Error(`${PCGRAD_ENV} must be "0" or "1", got '${p}'`);
  const dir = env[PROFILE_DIR_ENV];
  if (dir !== undefined && dir.trim() === "") throw new Error(`${PROFILE_DIR_ENV} is set but empty`);
  return dir === undefined ? { pcgrad: p === "1" } : { pcgrad: p === "1", profileDir: dir };
}
