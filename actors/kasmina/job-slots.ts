import { seedIdOf } from "../../contracts/seed-ids.ts";
import { layoutOf } from "../../nn/model/spec.ts";
import type { JobPreset } from "../../nn/presets/job-preset.ts";
import type { SlotSeed } from "./seed-controller.ts";

/**
 * The slots of the preset's host, each with its width and the id of its first seed (`seedIdOf(slotId, 0)`); the
 * controller moves a slot to its next generation after a grafted seed is culled.
 */
export function slotSeeds(preset: JobPreset): SlotSeed[] {
  return layoutOf(preset.host).slots.map(({ slotId, width }) => ({
    slotId,
    seedId: seedIdOf(slotId, 0),
    width,
  }));
}
