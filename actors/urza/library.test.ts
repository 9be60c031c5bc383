import { describe, expect, it } from "vitest";
import { BlueprintDescriptor } from "../../contracts/index.ts";
import { blueprintId } from "../../nn/blueprints/artifact.ts";
import { blueprintTemplates } from "../../nn/blueprints/library.ts";
import { jobPresets } from "../../nn/presets/job-selection.ts";
import { spiralsGrowthPreset } from "../../nn/presets/spirals-growth.ts";
import { buildLibrary, LIBRARY_WIDTHS, libraryConfigs } from "./library.ts";

describe("Urza's library", () => {
  it("has every template kind at every library width, each buildable with a valid descriptor", () => {
    const configs = libraryConfigs({});
    expect(configs).toHaveLength(Object.keys(blueprintTemplates).length * LIBRARY_WIDTHS.length);
    for (const kind of Object.keys(blueprintTemplates))
      expect(configs.filter((c) => c.kind === kind).map((c) => c.inputWidth)).toEqual(LIBRARY_WIDTHS);
    const library = buildLibrary(configs, 1_700_000_000_000);
    for (const e of library) {
      expect(BlueprintDescriptor.parse(e.descriptor)).toEqual(e.descriptor);
      expect(e.compileMs).toBeGreaterThan(0);
    }
  });

  it("adds the blueprint each job preset names, once, unless the grid holds it already", () => {
    const grid = libraryConfigs({}).map(blueprintId);
    const ids = libraryConfigs().map(blueprintId);
    expect(new Set(ids).size).toBe(ids.length);
    const named = Object.values(jobPresets).map((p) => blueprintId(p.blueprint));
    expect(named).toContain(blueprintId(spiralsGrowthPreset.blueprint));
    expect(grid).not.toContain(blueprintId(spiralsGrowthPreset.blueprint));
    for (const id of named) expect(ids).toContain(id);
    expect(ids).toHaveLength(new Set([...grid, ...named]).size);
  });

  it("builds the same bytes (same sha256) for the same configs every time", () => {
    const configs = libraryConfigs().filter((c) => c.inputWidth === LIBRARY_WIDTHS[0]);
    const a = buildLibrary(configs, 1);
    const b = buildLibrary(configs, 2);
    expect(b.map((e) => e.descriptor.artifactSha256)).toEqual(a.map((e) => e.descriptor.artifactSha256));
    expect(b.map((e) => Buffer.from(e.bytes).toString("base64"))).toEqual(
      a.map((e) => Buffer.from(e.bytes).toString("base64")),
    );
  });

  it("refuses a config listed twice", () => {
    const [first] = libraryConfigs();
    if (first === undefined) throw new Error("empty library");
    expect(() => buildLibrary([first, first], 1)).toThrow(/listed twice/);
  });
});
