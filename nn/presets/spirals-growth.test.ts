import { describe, expect, it } from "vitest";
import { SeedLifecycleStage } from "../../contracts/enums.ts";
import { loadPresetData, runPreset } from "./preset-run.ts";
import { spiralsGrowthPreset as preset, spiralsScriptedSchedule as schedule } from "./spirals-growth.ts";

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("spirals-growth preset (the default job), in process through the seed registry", () => {
  it("the narrow host plateaus; the seed grafted at the plateau lifts validation accuracy; same seed, same numbers", async () => {
    const data = await loadPresetData(preset);
    const options = { intraOpNumThreads: 1 };
    const host = (await runPreset(preset, data, { ...options, schedule: undefined })).epochs;
    const seeded = await runPreset(preset, data, { ...options, schedule });
    const again = await runPreset(preset, data, { ...options, schedule });
    const acc = (epochs: typeof host) => epochs.map((e) => e.validationAccuracy);
    const { graftEpoch, trainingEpochs } = schedule;

    // Plateau: below 0.7 before the graft, and no better over the last epochs when left alone.
    const plateau = Math.max(...acc(host).slice(0, graftEpoch));
    expect(plateau).toBeLessThan(0.7);
    expect(Math.max(...acc(host).slice(-4))).toBeLessThan(plateau + 0.03);
    // Incubation leaves the host exactly as it would have been.
    expect(acc(seeded.epochs).slice(0, graftEpoch + trainingEpochs)).toEqual(
      acc(host).slice(0, graftEpoch + trainingEpochs),
    );
    // Growth: fossilized seed, last three epochs well above the host's.
    expect(seeded.epochs.at(-1)?.stage).toBe(SeedLifecycleStage.FOSSILIZED);
    const grown = mean(acc(seeded.epochs).slice(-3));
    expect(grown).toBeGreaterThan(0.85);
    expect(grown - mean(acc(host).slice(-3))).toBeGreaterThan(0.2);
    // Deterministic.
    expect(again).toEqual(seeded);
  }, 20_000);
});
