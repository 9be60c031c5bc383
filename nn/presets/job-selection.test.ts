import { describe, expect, it } from "vitest";
import { fashionMnistGrowthPreset } from "./fashion-mnist-growth.ts";
import { selectJob, UnknownJobError } from "./job-selection.ts";
import { spiralsGrowthPreset } from "./spirals-growth.ts";

describe("selectJob", () => {
  it("takes the preset ESPER_JOB names", () => {
    expect(selectJob({ ESPER_JOB: "fashion-mnist-growth" })).toEqual({
      preset: fashionMnistGrowthPreset,
      defaulted: false,
    });
  });

  it("takes spirals-growth when ESPER_JOB is unset and says it defaulted", () => {
    expect(selectJob({})).toEqual({ preset: spiralsGrowthPreset, defaulted: true });
  });

  it("refuses an unknown name, listing the known presets", () => {
    expect(() => selectJob({ ESPER_JOB: "mnist" })).toThrow(UnknownJobError);
    expect(() => selectJob({ ESPER_JOB: "mnist" })).toThrow(
      "ESPER_JOB='mnist' is not a known job preset; known: spirals-growth, fashion-mnist-growth, spirals-soak",
    );
  });
});
