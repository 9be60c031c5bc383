import { performance } from "node:perf_hooks";
import {
  type BlueprintArtifact,
  type BlueprintConfig,
  blueprintId,
  buildBlueprint,
} from "../../nn/blueprints/artifact.ts";
import { blueprintTemplates } from "../../nn/blueprints/library.ts";
import type { JobPreset } from "../../nn/presets/job-preset.ts";
import { jobPresets } from "../../nn/presets/job-selection.ts";

/**
 * Slot widths the library is built for. A host slot of another width finds no blueprint in the
 * catalog: extend this list (and restart Urza) rather than expecting a fallback.
 */
export const LIBRARY_WIDTHS: readonly number[] = [16, 32, 64, 128, 256];

/** Seed of the weight initialisation of every library kernel. */
export const LIBRARY_INIT_SEED = 1;

/** Hidden width of each template kind for a slot of width `w` (within the template's bounds). */
const hiddenWidthOf: Readonly<Record<string, (w: number) => number>> = {
  "residual-mlp": (w) => w,
  "bottleneck-adapter": (w) => Math.max(1, w / 4),
  "low-rank-linear": () => 4,
  "gated-unit": (w) => w,
  "wide-single-layer": (w) => 4 * w,
};

/**
 * The blueprint configurations Urza publishes: every template kind at every library width, then the
 * blueprint each job preset names (`presets`, default `jobPresets`) unless the grid already holds it,
 * so every job's slot finds its own blueprint in the catalog (the spirals host's slot is 4 wide).
 */
export function libraryConfigs(presets: Readonly<Record<string, JobPreset>> = jobPresets): BlueprintConfig[] {
  const out: BlueprintConfig[] = [];
  for (const kind of Object.keys(blueprintTemplates)) {
    const hidden = hiddenWidthOf[kind];
    if (hidden === undefined)
      throw new Error(`urza library: no hidden width rule for blueprint kind '${kind}'`);
    for (const w of LIBRARY_WIDTHS)
      out.push({ kind, inputWidth: w, hiddenWidth: hidden(w), initSeed: LIBRARY_INIT_SEED });
  }
  const ids = new Set(out.map(blueprintId));
  for (const preset of Object.values(presets)) {
    const id = blueprintId(preset.blueprint);
    if (ids.has(id)) continue;
    ids.add(id);
    out.push(preset.blueprint);
  }
  return out;
}

/** One built blueprint of the library with the time its artifact took to build. */
export interface LibraryEntry extends BlueprintArtifact {
  readonly compileMs: number;
}

/**
 * Builds the artifact and descriptor of every config (bytes are deterministic per config, so the same
 * config always gets the same sha256; `createdAt` only enters the descriptor). Duplicate ids are an error.
 */
export function buildLibrary(configs: readonly BlueprintConfig[], createdAt: number): LibraryEntry[] {
  const seen = new Set<string>();
  return configs.map((config) => {
    const start = performance.now();
    const artifact = buildBlueprint(config, createdAt);
    const compileMs = performance.now() - start;
    const id = artifact.descriptor.blueprintId;
    if (seen.has(id)) throw new Error(`urza library: blueprint ${id} is listed twice`);
    seen.add(id);
    return { ...artifact, compileMs };
  });
}
