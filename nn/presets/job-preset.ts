import type { BlueprintConfig } from "../blueprints/artifact.ts";
import type { ModelSpec } from "../model/spec.ts";

/** A seeded synthetic spirals set split into train and validation (`data/spirals.ts`). */
export interface SpiralsDataset {
  readonly kind: "spirals";
  readonly n: number;
  readonly classes: number;
  readonly turns: number;
  readonly noise: number;
  /** Seed of the points and of the split. */
  readonly seed: number;
  /** Fraction of the points held out for validation. */
  readonly validationFraction: number;
}

/** Fashion-MNIST from its IDX files (`data/fashion-mnist.ts`): train split, test split as validation. */
export interface FashionMnistDataset {
  readonly kind: "fashion-mnist";
  /** Standardisation after scaling to [0, 1]. */
  readonly normalize: { readonly mean: number; readonly std: number };
}

/** The optimizer of a job: AdamW or SGD with momentum, with its learning rate. */
export type OptimizerPreset =
  | { readonly kind: "adamw"; readonly lr: number; readonly weightDecay: number }
  | { readonly kind: "sgd"; readonly lr: number; readonly momentum: number };

/**
 * A training job: data, host with one seed slot, optimizer, batching and the seed that fits the slot.
 * When the seed is grafted, how long each stage lasts and how it is blended are not part of the job:
 * in the actors Tamiyo (plateau rule, blend) and Kasmina (advance rules) decide them.
 */
export interface JobPreset {
  readonly name: string;
  readonly dataset: SpiralsDataset | FashionMnistDataset;
  readonly host: ModelSpec;
  /** Seed of the host's parameter initialisation and of the batch order. */
  readonly initSeed: number;
  readonly optimizer: OptimizerPreset;
  readonly batchSize: number;
  readonly epochs: number;
  /** Training steps per epoch: the first batches of the epoch's shuffled order (at most all of them). */
  readonly stepsPerEpoch: number;
  /** The slot of `host` the seed is grafted into. */
  readonly slotId: string;
  /**
   * The seed's kernel: input width equals the slot's width. Naming it is the job's approval of it:
   * Tamiyo may germinate it even when its catalog entry requires approval, and Urza publishes it.
   */
  readonly blueprint: BlueprintConfig;
}
