import { blueprintId } from "../../nn/blueprints/artifact.ts";
import type { JobPreset } from "../../nn/presets/job-preset.ts";
import { jobPresets } from "../../nn/presets/job-selection.ts";

/**
 * The blueprint ids the job of a run approves: the job preset named by the packet's `experimentName`
 * names its seed's blueprint, and naming it is the job author's approval of that blueprint (its catalog
 * entry may require approval, e.g. the HIGH_RISK `wide-single-layer`). A run of no known job approves
 * nothing.
 */
export function jobApprovals(
  experimentName: string,
  presets: Readonly<Record<string, JobPreset>> = jobPresets,
): ReadonlySet<string> {
  const preset = presets[experimentName];
  return new Set(preset === undefined ? [] : [blueprintId(preset.blueprint)]);
}
