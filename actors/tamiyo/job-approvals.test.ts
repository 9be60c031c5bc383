import { describe, expect, it } from "vitest";
import { blueprintId } from "../../nn/blueprints/artifact.ts";
import { spiralsGrowthPreset } from "../../nn/presets/spirals-growth.ts";
import { jobApprovals } from "./job-approvals.ts";

describe("jobApprovals", () => {
  it("approves the blueprint the packet's job preset names", () => {
    expect(jobApprovals(spiralsGrowthPreset.name)).toEqual(
      new Set([blueprintId(spiralsGrowthPreset.blueprint)]),
    );
  });

  it("approves nothing for a run of no known job", () => {
    expect(jobApprovals("hand-made-experiment")).toEqual(new Set());
  });
});
