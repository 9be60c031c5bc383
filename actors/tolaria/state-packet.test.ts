import { beforeAll, describe, expect, it } from "vitest";
import { SeedLifecycleStage } from "../../contracts/enums.ts";
import { ContractError } from "../../contracts/errors.ts";
import type { HardwareContext } from "../../contracts/messages/state.ts";
import { buildBlueprint } from "../../nn/blueprints/artifact.ts";
import { loadPresetData, type PresetData } from "../../nn/presets/preset-run.ts";
import { spiralsGrowthPreset } from "../../nn/presets/spirals-growth.ts";
import { graftDirective } from "./directive-fixture.ts";
import { assembleStatePacket } from "./state-packet.ts";
import { Trainer } from "./trainer.ts";

const preset = { ...spiralsGrowthPreset, epochs: 3, stepsPerEpoch: 5 };
const hardware: HardwareContext = {
  deviceType: "cpu",
  deviceId: "0",
  totalMemoryGb: 8,
  availableMemoryGb: 4,
  temperatureCelsius: 40,
  utilizationPercent: 50,
  computeCapability: 0,
};
const control = { conservativeMode: false, emergencyLevel: 1, breakerState: 1 };
const artifact = buildBlueprint(preset.blueprint, 0);
const kernelParameters = artifact.descriptor.parameterCount;
const kernel = {
  blueprintId: artifact.descriptor.blueprintId,
  artifactRef: artifact.descriptor.artifactSha256,
  checksum: artifact.descriptor.artifactSha256,
};

let data: PresetData;
beforeAll(async () => {
  data = await loadPresetData(preset);
});

async function epoch(trainer: Trainer): Promise<void> {
  for (;;) if ((await trainer.step()).epochFinished) return;
}

describe("the epoch's SystemStatePacket", () => {
  it("validates, carries the epoch's metrics and names every slot: DORMANT with a generation id, then the grafted seed", async () => {
    const trainer = new Trainer({
      preset,
      data,
      trainingRunId: "run-7",
      fetchKernel: async () => artifact.bytes,
      reportEverySteps: 5,
      intraOpNumThreads: 1,
      now: () => 1_700_000_000_123,
      pcgrad: false,
    });
    try {
      await epoch(trainer);
      const v0 = await trainer.validate();
      const { packet: p0, assemblyMs } = trainer.statePacket(v0, hardware, {}, control);
      expect(assemblyMs).toBeGreaterThan(0);
      expect(p0).toMatchObject({
        packetId: "run-7-epoch-0",
        trainingRunId: "run-7",
        experimentName: "spirals-growth",
        sourceSubsystem: "tolaria",
        currentEpoch: 0,
        globalStep: 5,
        timestampMs: 1_700_000_000_123,
        validationAccuracy: v0.accuracy,
        validationLoss: v0.loss,
      });
      expect(p0.trainingMetrics).toMatchObject({ epochsTotal: 3, lossDelta: 0, learningRate: 0.02 });
      expect(p0.trainingMetrics.extra).toEqual({
        parameterCount: trainer.parameterCount,
        conservativeMode: 0,
        emergencyLevel: 1,
        breakerState: 1,
      });
      expect(p0.trainingMetrics.samplesPerSecond).toBeGreaterThan(0);
      expect(p0.trainingMetrics.gradientNorm).toBeGreaterThan(0);
      const m0 = p0.trainingMetrics;
      expect(m0).toMatchObject({ optimizerFamily: preset.optimizer.kind, gradConflictRate: 0 });
      expect(m0.momentum).toBe(preset.optimizer.kind === "sgd" ? preset.optimizer.momentum : 0.9);
      expect(m0.stepLatencyMs).toBeGreaterThan(0);
      expect(m0.stepLatencyMs).toBeLessThanOrEqual(m0.epochDurationMs / 5 + 1e-9);
      expect(m0.kasminaLatencyMs).toBeGreaterThanOrEqual(0);
      expect(m0.memoryRssBytes).toBeGreaterThan(m0.heapUsedBytes);
      expect(m0.heapUsedBytes).toBeGreaterThan(0);
      expect("tamiyoLatencyMs" in m0 || "hookLatencyMs" in m0).toBe(false);
      expect(p0.trainingLoss).toBe(trainer.epochFigures().loss);
      expect(p0.seedStates).toEqual([
        expect.objectContaining({
          seedId: "s1-g0",
          slotId: "s1",
          slotWidth: 4,
          stage: SeedLifecycleStage.DORMANT,
          layerDepth: 2,
        }),
      ]);
      expect(p0.seedStates[0]?.blueprintId).toBeUndefined();

      trainer.enqueue(graftDirective("s1-g0", 0, kernel));
      await epoch(trainer);
      const { packet: p1 } = trainer.statePacket(
        await trainer.validate(),
        hardware,
        {
          tamiyoLatencyMs: 1.5,
          hookLatencyMs: 7.25,
        },
        { conservativeMode: true, emergencyLevel: 3, breakerState: 2 },
      );
      expect(p1.trainingMetrics.extra).toMatchObject({
        conservativeMode: 1,
        emergencyLevel: 3,
        breakerState: 2,
      });
      expect(p1.trainingMetrics).toMatchObject({ tamiyoLatencyMs: 1.5, hookLatencyMs: 7.25 });
      // The graft's directive was applied at this epoch's first boundary.
      expect(p1.trainingMetrics.kasminaLatencyMs).toBeGreaterThan(0);
      expect(p1.currentEpoch).toBe(1);
      expect(p1.trainingMetrics.lossDelta).toBe(trainer.epochFigures().loss - p0.trainingLoss);
      expect(p1.trainingMetrics.extra.parameterCount).toBe(
        (p0.trainingMetrics.extra.parameterCount as number) + kernelParameters,
      );
      expect(p1.seedStates).toEqual([
        expect.objectContaining({
          seedId: "s1-g0",
          slotId: "s1",
          stage: SeedLifecycleStage.TRAINING,
          blueprintId: kernel.blueprintId,
          ageEpochs: 1,
          alpha: 0,
        }),
      ]);
      expect(p1.seedStates[0]?.gradientNorm).toBeGreaterThan(0);
    } finally {
      await trainer.release();
    }
  });

  it("a figure the contract refuses is a ContractError naming the field", () => {
    const figures = {
      epoch: 0,
      globalStep: 1,
      loss: Number.NaN,
      accuracy: 0.5,
      gradientNorm: 1,
      lossDelta: 0,
      lossEwma: 1,
      lossVolatility: 0,
      gradNormEwma: 1,
      samples: 32,
      durationMs: 10,
      stepLatencyMs: 10,
      kasminaLatencyMs: 0,
      gradConflictRate: 0,
    };
    const input = {
      trainingRunId: "run-7",
      experimentName: "x",
      epochsTotal: 1,
      learningRate: 0.1,
      optimizer: { family: "sgd", momentum: 0.9 },
      boundary: {},
      control,
      timeline: 0,
      parameterCount: 10,
      figures,
      validation: { loss: 1, accuracy: 0.5 },
      hardware,
      slots: [],
      timestampMs: 1,
    };
    expect(() => assembleStatePacket(input)).toThrow(ContractError);
    expect(() => assembleStatePacket(input)).toThrow(/trainingLoss/);
  });
});
