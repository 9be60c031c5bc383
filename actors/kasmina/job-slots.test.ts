import { describe, expect, it } from "vitest";
import { spiralsGrowthPreset } from "../../nn/presets/spirals-growth.ts";
import { slotSeeds } from "./job-slots.ts";

describe("job-slots", () => {
  it("each slot of the preset's host offers its first seed <slotId>-g0 and has its width", () => {
    expect(slotSeeds(spiralsGrowthPreset)).toEqual([{ slotId: "s1", seedId: "s1-g0", width: 4 }]);
  });
});
