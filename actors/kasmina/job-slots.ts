import { layoutOf } from "../../nn/model/spec.ts";
import { fashionMnistGrowthPreset } from "../../nn/presets/fashion-mnist-growth.ts";
import type { JobPreset } from "../../nn/presets/job-preset.ts";
import { spiralsGrowthPreset } from "../../nn/presets/spirals-growth.ts";
import type { SlotSeed } from "./seed-controller.ts";

/** The environment variable naming the run's job preset (the one Tolaria trains). */
export const JOB_ENV = "ESPER_JOB";

/** The job of a run when ESPER_JOB is not set: Tolaria's default, the spirals preset. */
export const DEFAULT_JOB = spiralsGrowthPreset.name;

/** The job presets a run can name, by name. */
export const jobPresets: Readonly<Record<string, JobPreset>> = {
  [spiralsGrowthPreset.name]: spiralsGrowthPreset,
  [fashionMnistGrowthPreset.name]: fashionMnistGrowthPreset,
};

/** ESPER_JOB names no known preset. */
export class UnknownJobError extends Error {
  override readonly name = "UnknownJobError";
  constructor(job: string, known: readonly string[]) {
    super(`${JOB_ENV}='${job}' is not a known job preset; known: ${known.join(", ")}`);
  }
}

/** The id Tolaria gives the first seed it grafts into `slotId`. */
export const firstSeedId = (slotId: string): string => `${slotId}-g0`;

/** The job ESPER_JOB names in `env` and whether it is the default (unset); an unknown name is an UnknownJobError. */
export function selectJob(
  env: Readonly<Record<string, string | undefined>>,
  presets: Readonly<Record<string, JobPreset>> = jobPresets,
): { readonly preset: JobPreset; readonly defaulted: boolean } {
  const job = env[JOB_ENV];
  const name = job ?? DEFAULT_JOB;
  const preset = presets[name];
  if (preset === undefined) throw new UnknownJobError(name, Object.keys(presets));
  return { preset, defaulted: job === undefined };
}

/**
 * The slots of the preset's host, each with the id of its first seed (`<slotId>-g0`). Later
 * generations of a slot (`-g1`, …, after a cull) are not followed yet: the controller knows one seed per slot.
 */
export function slotSeeds(preset: JobPreset): SlotSeed[] {
  return layoutOf(preset.host).slots.map(({ slotId }) => ({ slotId, seedId: firstSeedId(slotId) }));
}
