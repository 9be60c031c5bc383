import { layoutOf } from "../../nn/model/spec.ts";
import type { JobPreset } from "../../nn/presets/job-preset.ts";
import type { SlotSeed } from "./seed-controller.ts";

/** The id Tolaria gives the first seed it grafts into `slotId`. */
export const firstSeedId = (slotId: string): string => `${slotId}-g0`;

/**
 * The slots of the preset's host, each with the id of its first seed (`<slotId>-g0`). Later
 * generations of a slot (`-g1`, …, after a cull) are not followed yet: the controller knows one seed per slot.
 */
export function slotSeeds(preset: JobPreset): SlotSeed[] {
  return layoutOf(preset.host).slots.map(({ slotId }) => ({ slotId, seedId: firstSeedId(slotId) }));
}
