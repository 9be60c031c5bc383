import { fashionMnistGrowthPreset } from "./fashion-mnist-growth.ts";
import type { JobPreset } from "./job-preset.ts";
import { spiralsGrowthPreset } from "./spirals-growth.ts";
import { spiralsSoakPreset } from "./spirals-soak.ts";

/** The environment variable naming the run's job preset (read by Tolaria and Kasmina). */
export const JOB_ENV = "ESPER_JOB";

/** The job taken when ESPER_JOB is not set (announced at start, never silent). */
export const DEFAULT_JOB = spiralsGrowthPreset.name;

/** The job presets a run can name, by name. */
export const jobPresets: Readonly<Record<string, JobPreset>> = {
  [spiralsGrowthPreset.name]: spiralsGrowthPreset,
  [fashionMnistGrowthPreset.name]: fashionMnistGrowthPreset,
  [spiralsSoakPreset.name]: spiralsSoakPreset,
};

/** ESPER_JOB names no known preset. */
export class UnknownJobError extends Error {
  override readonly name = "UnknownJobError";
  constructor(job: string, known: readonly string[]) {
    super(`${JOB_ENV}='${job}' is not a known job preset; known: ${known.join(", ")}`);
  }
}

/** The selected job: its preset and whether it is the default (ESPER_JOB unset). */
export interface SelectedJob {
  readonly preset: JobPreset;
  readonly defaulted: boolean;
}

/** The preset ESPER_JOB names in `env` (DEFAULT_JOB when unset); an unknown name is an UnknownJobError. */
export function selectJob(
  env: Readonly<Record<string, string | undefined>>,
  presets: Readonly<Record<string, JobPreset>> = jobPresets,
): SelectedJob {
  const job = env[JOB_ENV];
  const name = job ?? DEFAULT_JOB;
  const preset = presets[name];
  if (preset === undefined) throw new UnknownJobError(name, Object.keys(presets));
  return { preset, defaulted: job === undefined };
}
