import type { JobPreset } from "./job-preset.ts";
import { spiralsGrowthPreset } from "./spirals-growth.ts";

/**
 * The default job made long: spirals-growth for 3,000 epochs (minutes through `esper up`), for
 * benchmarks and soak runs that kill and restart actors many times within one run
 * (`esper bench recovery`). The growth itself is the same as the default job's.
 */
export const spiralsSoakPreset: JobPreset = { ...spiralsGrowthPreset, name: "spirals-soak", epochs: 3_000 };
