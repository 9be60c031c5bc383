import { beforeAll, describe, expect, it } from "vitest";
import { SeedLifecycleStage } from "../../contracts/enums.ts";
import type { KernelRef, SeedDirective, SeedReport } from "../../contracts/messages/seed.ts";
import { buildBlueprint } from "../../nn/blueprints/artifact.ts";
import { loadPresetData, type PresetData, runPreset } from "../../nn/presets/preset-run.ts";
import { spiralsGrowthPreset as preset, spiralsScriptedSchedule } from "../../nn/presets/spirals-growth.ts";
import { blendDirective, directive, graftDirective } from "./directive-fixture.ts";
import { DirectiveGapError, DirectiveRefusedError, KernelChecksumError } from "./errors.ts";
import { type KernelFetcher, Trainer } from "./trainer.ts";

const artifact = buildBlueprint(preset.blueprint, 0);
const kernel: KernelRef = {
  blueprintId: artifact.descriptor.blueprintId,
  artifactRef: artifact.descriptor.artifactSha256,
  checksum: artifact.descriptor.artifactSha256,
};
const fetchKernel: KernelFetcher = async (ref) => {
  if (ref.artifactRef !== kernel.artifactRef) throw new Error(`no artifact ${ref.artifactRef}`);
  return artifact.bytes;
};
const update = (seedId: string, sequence: number, stage: SeedDirective["stage"]): SeedDirective =>
  directive(seedId, sequence, { action: "update", stage });

let data: PresetData;
beforeAll(async () => {
  data = await loadPresetData(preset);
});

const trainerFor = (p = preset, fetch = fetchKernel, pcgrad = false) =>
  new Trainer({
    preset: p,
    data,
    trainingRunId: "run-1",
    fetchKernel: fetch,
    reportEverySteps: 10,
    intraOpNumThreads: 1,
    now: () => 1_700_000_000_000,
    pcgrad,
  });

/** Runs the preset to the end, sending the directives on its stage timing as Kasmina would. */
async function runDirected(pcgrad = false) {
  const { graftEpoch, trainingEpochs, blendingSteps } = spiralsScriptedSchedule;
  const trainer = trainerFor(preset, fetchKernel, pcgrad);
  const seedId = "s1-g0";
  const epochs: { accuracy: number; loss: number; stage: SeedLifecycleStage | undefined }[] = [];
  const reports: SeedReport[] = [];
  const applied: number[] = [];
  let blendSteps = -1;
  let sequence = 0;
  try {
    while (!trainer.done) {
      if (trainer.epoch === graftEpoch && blendSteps === -1 && sequence === 0)
        trainer.enqueue(graftDirective(seedId, sequence++, kernel));
      if (trainer.epoch === graftEpoch + trainingEpochs && sequence === 1)
        trainer.enqueue(blendDirective(seedId, sequence++, blendingSteps));
      const out = await trainer.step();
      expect(out.refused).toEqual([]);
      applied.push(...out.applied.map((d) => d.sequence));
      reports.push(...out.reports);
      if (out.applied.some((d) => d.stage === SeedLifecycleStage.BLENDING)) blendSteps = 0;
      if (blendSteps >= 0) blendSteps++;
      if (blendSteps === blendingSteps)
        trainer.enqueue(update(seedId, sequence++, SeedLifecycleStage.SHADOWING));
      if (blendSteps === blendingSteps + 1)
        trainer.enqueue(update(seedId, sequence++, SeedLifecycleStage.FOSSILIZED));
      if (out.epochFinished) {
        const v = await trainer.validate();
        epochs.push({
          accuracy: v.accuracy,
          loss: trainer.epochFigures().loss,
          stage: trainer.seeds()[0]?.stage,
        });
      }
    }
  } finally {
    await trainer.release();
  }
  return { epochs, reports, applied };
}

describe("Trainer on the spirals preset, driven by seed directives", () => {
  it("graft(TRAINING) → BLENDING (linear α) → SHADOWING → FOSSILIZED grows accuracy exactly as the preset run does", async () => {
    const { graftEpoch, trainingEpochs, blendingSteps } = spiralsScriptedSchedule;
    const { epochs, reports, applied } = await runDirected();
    expect(applied).toEqual([0, 1, 2, 3]);
    expect(epochs.at(-1)?.stage).toBe(SeedLifecycleStage.FOSSILIZED);
    const reference = await runPreset(preset, data, {
      schedule: spiralsScriptedSchedule,
      intraOpNumThreads: 1,
    });
    expect(epochs.map((e) => e.accuracy)).toEqual(reference.epochs.map((e) => e.validationAccuracy));
    expect(epochs.map((e) => e.loss)).toEqual(reference.epochs.map((e) => e.trainLoss));
    expect(Math.max(...epochs.slice(0, graftEpoch).map((e) => e.accuracy))).toBeLessThan(0.7);
    expect(epochs.at(-1)?.accuracy).toBeGreaterThan(0.85);

    // Reports: every 10 steps per live seed; while TRAINING the model's output is the host's.
    const stepsPerReport = 10;
    const training = reports.filter((r) => r.stage === SeedLifecycleStage.TRAINING);
    expect(training).toHaveLength((trainingEpochs * preset.stepsPerEpoch) / stepsPerReport);
    for (const r of training) {
      expect(r.hostLoss).toBe(r.loss);
      expect(r.isolationLeak).toBe(0);
      expect(r.alpha).toBe(0);
      expect(r.seedGradientNorm).toBeGreaterThan(0);
      expect(r.parameterCount).toBe(4 * 64 + 64 + 64 * 4); // wide-single-layer: W1, b1, W2
      // The incubator's seed path sends nothing into the host: no shared contribution, no conflict.
      expect(r.conflicts).toBe(0);
      expect(r.interfaceGradientNorm).toBeGreaterThan(0);
      expect(r.gradientShare).toBeGreaterThan(0);
      expect(r.gradientShare).toBeLessThan(1);
      expect(r.gradientCosine).not.toBe(0);
    }
    const blending = reports.filter((r) => r.stage === SeedLifecycleStage.BLENDING);
    expect(blending.map((r) => r.alpha)).toEqual([10, 20, 30, 40].map((s) => s / blendingSteps));
    expect(blending.map((r) => r.steps)).toEqual([10, 10, 10, 10]);
    for (const r of blending) expect(r.conflictRatio).toBeCloseTo(r.conflicts / 10, 12);
    const fossil = reports.filter((r) => r.stage === SeedLifecycleStage.FOSSILIZED).at(-1);
    expect(fossil?.lossDelta).toBeLessThan(-0.1);
    expect(fossil?.alpha).toBe(1);
    // Deterministic: a second run gives the same figures and reports.
    expect(await runDirected()).toEqual({ epochs, reports, applied });
  }, 120_000);

  it("PCGrad on: the same run until a seed path reaches the host, different after when contributions conflict", async () => {
    const off = await runDirected(false);
    const on = await runDirected(true);
    const { graftEpoch, trainingEpochs } = spiralsScriptedSchedule;
    const blendEpoch = graftEpoch + trainingEpochs;
    expect(on.epochs.slice(0, blendEpoch)).toEqual(off.epochs.slice(0, blendEpoch));
    const conflicts = on.reports
      .filter((r) => r.stage !== SeedLifecycleStage.TRAINING)
      .reduce((n, r) => n + r.conflicts, 0);
    expect(conflicts).toBeGreaterThan(0);
    expect(on.epochs.map((e) => e.loss)).not.toEqual(off.epochs.map((e) => e.loss));
  }, 120_000);

  it("refuses a graft whose kernel does not match the directive's checksum, naming both digests", async () => {
    const tampered = artifact.bytes.slice();
    tampered[tampered.length - 1] = (tampered.at(-1) ?? 0) ^ 1;
    const trainer = trainerFor({ ...preset, epochs: 1, stepsPerEpoch: 2 }, async () => tampered);
    try {
      trainer.enqueue(graftDirective("s1-g0", 0, kernel));
      const out = await trainer.step();
      expect(out.applied).toEqual([]);
      const error = out.refused[0]?.error;
      expect(error).toBeInstanceOf(KernelChecksumError);
      expect(error?.message).toContain(kernel.checksum);
      expect(error?.message).toContain((error as KernelChecksumError).actual);
      expect((error as KernelChecksumError).actual).not.toBe(kernel.checksum);
      expect(trainer.parameterNames().filter((n) => n.startsWith("seed/"))).toEqual([]);
      expect(trainer.slotStates()[0]).toMatchObject({ seedId: "s1-g0", stage: SeedLifecycleStage.DORMANT });
      trainer.enqueue(update("s1-g0", 1, SeedLifecycleStage.BLENDING));
      const next = await trainer.step();
      expect(next.refused[0]?.error).toBeInstanceOf(DirectiveRefusedError);
      expect(next.refused[0]?.error.message).toContain("seed 's1-g0' is not grafted");
    } finally {
      await trainer.release();
    }
  });

  it("remove culls the seed: its parameters leave the store and the slot is free for the next generation", async () => {
    const trainer = trainerFor({ ...preset, epochs: 1, stepsPerEpoch: 6 });
    try {
      const hostCount = trainer.parameterCount;
      trainer.enqueue(graftDirective("s1-g0", 0, kernel));
      await trainer.step();
      expect(trainer.parameterCount).toBeGreaterThan(hostCount);
      trainer.enqueue(directive("s1-g0", 1, { action: "remove", stage: SeedLifecycleStage.CULLED }));
      const out = await trainer.step();
      expect(out.applied.map((d) => d.action)).toEqual(["remove"]);
      expect(trainer.seeds()).toEqual([]);
      expect(trainer.parameterNames().filter((n) => n.startsWith("seed/"))).toEqual([]);
      expect(trainer.parameterCount).toBe(hostCount);
      expect(trainer.slotStates()[0]).toMatchObject({ seedId: "s1-g1", stage: SeedLifecycleStage.DORMANT });
      // A new seed grafts into the freed slot and trains (fresh parameters, fresh optimizer group).
      trainer.enqueue(graftDirective("s1-g1", 0, kernel));
      const regraft = await trainer.step();
      expect(regraft.applied).toHaveLength(1);
      expect(trainer.slotStates()[0]).toMatchObject({ seedId: "s1-g1", stage: SeedLifecycleStage.TRAINING });
    } finally {
      await trainer.release();
    }
  });

  it("skips a duplicate directive and stops at a gap with an error naming the seed and the missing sequence", async () => {
    const trainer = trainerFor({ ...preset, epochs: 1, stepsPerEpoch: 4 });
    try {
      expect(trainer.enqueue(graftDirective("s1-g0", 0, kernel)).status).toBe("queued");
      expect(trainer.enqueue(graftDirective("s1-g0", 0, kernel)).status).toBe("duplicate");
      const first = await trainer.step();
      expect(first.applied.map((d) => d.sequence)).toEqual([0]);
      expect(first.refused).toEqual([]);
      expect(trainer.enqueue(graftDirective("s1-g0", 0, kernel)).status).toBe("duplicate");
      expect(trainer.duplicateDirectives).toBe(2);
      trainer.enqueue(update("s1-g0", 2, SeedLifecycleStage.BLENDING));
      await expect(trainer.step()).rejects.toThrow(DirectiveGapError);
      await expect(trainer.step()).rejects.toThrow("seed 's1-g0': directive sequence 1 is missing");
      expect(trainer.globalStep).toBe(1);
    } finally {
      await trainer.release();
    }
  });
});
