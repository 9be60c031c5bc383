import { describe, expect, it } from "vitest";
import { spiralsGrowthPreset } from "../../nn/presets/spirals-growth.ts";
import { selectJob, slotSeeds, UnknownJobError } from "./job-slots.ts";

describe("job-slots", () => {
  it("each slot of the preset's host offers its first seed <slotId>-g0", () => {
    expect(slotSeeds(spiralsGrowthPreset)).toEqual([{ slotId: "s1", seedId: "s1-g0" }]);
  });

  it("ESPER_JOB unset is the default job; an unknown name is an error naming the known ones", () => {
    expect(selectJob({})).toEqual({ preset: spiralsGrowthPreset, defaulted: true });
    expect(() => selectJob({ ESPER_JOB: "nope" })).toThrow(UnknownJobError);
    expect(() => selectJob({ ESPER_JOB: "nope" })).toThrow(/'nope' is not a known job preset; known: /);
  });
});
