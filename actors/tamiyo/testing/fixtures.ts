import {
  type BlueprintDescriptor,
  SeedLifecycleStage,
  type SeedState,
  type SystemStatePacket,
} from "../../../contracts/index.ts";
import { sampleOf } from "../../../contracts/testing/samples.ts";
import { type BlueprintConfig, buildBlueprint } from "../../../nn/blueprints/artifact.ts";

/** A valid seed state with the given id, stage, layer depth and slot width, in slot `slot-<seedId>`. */
export function seedState(
  seedId: string,
  stage: SeedState["stage"],
  layerDepth = 0,
  slotWidth = 8,
): SeedState {
  return {
    seedId,
    slotId: `slot-${seedId}`,
    slotWidth,
    stage,
    gradientNorm: 0,
    learningRate: 0.01,
    layerDepth,
    alpha: 0,
    ageEpochs: 0,
    riskScore: 0,
    metrics: {},
  };
}

/** A valid state packet of run `run-a` at `epoch` with the given validation loss and seeds. */
export function packet(
  epoch: number,
  validationLoss: number,
  seeds: readonly SeedState[],
): SystemStatePacket {
  const base = sampleOf("SystemStatePacket", 7) as SystemStatePacket;
  return {
    ...base,
    packetId: `pkt-${epoch}`,
    trainingRunId: "run-a",
    currentEpoch: epoch,
    validationLoss,
    seedStates: [...seeds],
  };
}

/** The catalog descriptor of a real nn blueprint (built with its ONNX artifact). */
export function descriptor(
  kind: string,
  inputWidth: number,
  hiddenWidth: number,
  initSeed = 1,
  overrides: Partial<BlueprintDescriptor> = {},
): BlueprintDescriptor {
  const config: BlueprintConfig = { kind, inputWidth, hiddenWidth, initSeed };
  return { ...buildBlueprint(config, 1_700_000_000_000).descriptor, ...overrides };
}

export const { DORMANT, TRAINING, FOSSILIZED, CULLED } = SeedLifecycleStage;
