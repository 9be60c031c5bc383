import { type BlueprintDescriptor, SeedLifecycleStage, type SeedState } from "../../contracts/index.ts";
import { MissingInputError } from "./errors.ts";
import { detectPlateau, type PlateauRule, type PlateauStatus } from "./plateau.ts";
import type { PolicyInput } from "./policy.ts";

/** Version of the feature layout below; a policy model is fitted for exactly one. */
export const FEATURE_VERSION = "tamiyo-features-v1";

/** Slots the feature vector holds (seeds beyond it are an error, never dropped). */
export const MAX_SLOTS = 8;

/** Candidate blueprints the feature vector holds: catalog entries fitting a DORMANT slot's width. */
export const MAX_CANDIDATES = 24;

/** Global training features, in vector order. */
export const GLOBAL_FEATURES = [
  "validationLoss",
  "validationAccuracy",
  "trainingLoss",
  "lossEwma",
  "lossVolatility",
  "gradientNorm",
  "learningRate",
  "lossDelta",
  "progress",
  "plateau.epochsWithoutImprovement",
  "plateau.atLeastKMinus2",
  "plateau.atLeastKMinus1",
  "plateau.atLeastK",
  "plateau.gapToBest",
  "plateau.observed",
  "germination.any",
  "germination.epochsSince",
  "seeds.anyInFlight",
  "seeds.anyDormant",
  "candidates.anyUsable",
] as const;

/** Lifecycle stages one-hot encoded per slot (UNKNOWN … TERMINATED). */
const STAGE_COUNT = 12;

/** Features per slot: present, stage one-hot, in flight, dormant, first free, depth, width, alpha, age, risk, gradient norm. */
export const SLOT_FEATURES = 1 + STAGE_COUNT + 9;

/** Features per candidate blueprint: present, risk, quarantine-only, approval required, approved, usable, fits the first free slot, size. */
export const CANDIDATE_FEATURES = 8;

/** Length of the feature vector. */
export const FEATURE_WIDTH =
  GLOBAL_FEATURES.length + MAX_SLOTS * SLOT_FEATURES + MAX_CANDIDATES * CANDIDATE_FEATURES;

/** Stages in which a seed is between germination and fossilization. */
const IN_FLIGHT: ReadonlySet<number> = new Set([
  SeedLifecycleStage.GERMINATED,
  SeedLifecycleStage.TRAINING,
  SeedLifecycleStage.BLENDING,
  SeedLifecycleStage.SHADOWING,
  SeedLifecycleStage.PROBATIONARY,
]);

/** Which named inputs were present for one decision. */
export interface FeatureCoverage {
  readonly present: readonly string[];
  readonly absent: readonly string[];
  /** present / (present + absent), in [0, 1]. */
  readonly ratio: number;
}

/** The features of one decision and the ordered targets their positions stand for. */
export interface PolicyFeatures {
  readonly vector: Float32Array;
  /** The packet's seeds in slot order (layer depth, then seed id): slot head index i is `slots[i]`. */
  readonly slots: readonly SeedState[];
  /** Candidate blueprints in order (risk, then id): blueprint head index j is `candidates[j]`. */
  readonly candidates: readonly BlueprintDescriptor[];
  /** Per candidate: free of quarantine and free of approval or approved by the run's job. */
  readonly usable: readonly boolean[];
  readonly plateau: PlateauStatus;
  readonly coverage: FeatureCoverage;
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const clip = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/**
 * Builds the feature vector of one decision: global training features (packet metrics and the run
 * memory's plateau status under `rule`), per-slot seed features for every slot (at most MAX_SLOTS,
 * padded with a presence flag) and candidate blueprint features from the catalog (entries fitting a
 * DORMANT slot's width, at most MAX_CANDIDATES). Deterministic: the order of seeds and catalog entries
 * does not matter. Throws MissingInputError when the memory lacks the packet's epoch, and when there
 * are more slots or candidates than the vector holds (never truncated).
 */
export function buildFeatures(input: PolicyInput, rule: PlateauRule): PolicyFeatures {
  const { packet, memory, catalog, approved } = input;
  const last = memory.losses.at(-1);
  if (last?.epoch !== packet.currentEpoch) {
    throw new MissingInputError(
      `validation loss of epoch ${packet.currentEpoch}`,
      "is not in the run memory: observe the packet before building features",
    );
  }
  if (packet.seedStates.length > MAX_SLOTS) {
    throw new MissingInputError(
      "seedStates",
      `holds ${packet.seedStates.length} slots; the policy's features hold at most ${MAX_SLOTS}`,
    );
  }
  const slots = [...packet.seedStates].sort(
    (a, b) => a.layerDepth - b.layerDepth || byText(a.seedId, b.seedId),
  );
  const dormant = slots.filter((s) => s.stage === SeedLifecycleStage.DORMANT);
  const widths = new Set(dormant.map((s) => s.slotWidth));
  const candidates = catalog
    .filter((b) => b.inputWidth === b.outputWidth && widths.has(b.inputWidth))
    .sort((a, b) => a.risk - b.risk || byText(a.blueprintId, b.blueprintId));
  if (candidates.length > MAX_CANDIDATES) {
    throw new MissingInputError(
      "catalog",
      `holds ${candidates.length} blueprints fitting the free slots; the policy's features hold at most ${MAX_CANDIDATES}`,
    );
  }
  const usable = candidates.map(
    (b) => !b.quarantineOnly && (!b.approvalRequired || approved.has(b.blueprintId)),
  );
  const plateau = detectPlateau(
    memory.losses.map((l) => l.loss),
    rule,
  );
  const firstFree = dormant[0];
  const v = new Float32Array(FEATURE_WIDTH);
  const present: string[] = [];
  const absent: string[] = [];
  let at = 0;
  const put = (value: number): void => {
    v[at++] = value;
  };

  const m = packet.trainingMetrics;
  const k = rule.epochs;
  const stale = plateau.epochsWithoutImprovement;
  const best = plateau.best ?? packet.validationLoss;
  const germination = memory.lastGermination;
  put(clip(packet.validationLoss, 0, 10));
  put(packet.validationAccuracy);
  put(clip(packet.trainingLoss, 0, 10));
  put(clip(m.lossEwma, 0, 10));
  put(clip(m.lossVolatility, 0, 10));
  put(clip(m.gradientNorm, 0, 10));
  put(clip(m.learningRate * 10, 0, 10));
  put(clip(m.lossDelta, -10, 10));
  put(m.epochsTotal > 0 ? clip(packet.currentEpoch / m.epochsTotal, 0, 1) : 0);
  put(clip(stale / k, 0, 3));
  put(stale >= k - 2 ? 1 : 0);
  put(stale >= k - 1 ? 1 : 0);
  put(stale >= k ? 1 : 0);
  put(best !== 0 ? clip((packet.validationLoss - best) / Math.abs(best), -1, 1) : 0);
  put(clip(plateau.observed / (2 * k), 0, 3));
  put(germination !== undefined ? 1 : 0);
  put(germination !== undefined ? clip((packet.currentEpoch - germination.epoch) / 20, 0, 3) : 0);
  put(slots.some((s) => IN_FLIGHT.has(s.stage)) ? 1 : 0);
  put(dormant.length > 0 ? 1 : 0);
  put(usable.some((u, j) => u && candidates[j]?.inputWidth === firstFree?.slotWidth) ? 1 : 0);
  (m.epochsTotal > 0 ? present : absent).push("trainingMetrics.epochsTotal");
  (germination !== undefined ? present : absent).push("memory.lastGermination");
  (plateau.observed > k ? present : absent).push("memory.plateauWindow");
  (packet.hardwareContext.temperatureCelsius !== undefined ? present : absent).push(
    "hardwareContext.temperatureCelsius",
  );
  present.push("validationLoss", "validationAccuracy", "trainingLoss", "trainingMetrics");

  for (let i = 0; i < MAX_SLOTS; i++) {
    const s = slots[i];
    if (s === undefined) {
      at += SLOT_FEATURES;
      continue;
    }
    put(1);
    for (let stage = 0; stage < STAGE_COUNT; stage++) put(s.stage === stage ? 1 : 0);
    put(IN_FLIGHT.has(s.stage) ? 1 : 0);
    put(s.stage === SeedLifecycleStage.DORMANT ? 1 : 0);
    put(s === firstFree ? 1 : 0);
    put(clip(s.layerDepth / 8, 0, 4));
    put(Math.log2(s.slotWidth) / 16);
    put(s.alpha);
    put(clip(s.ageEpochs / 100, 0, 4));
    put(s.riskScore);
    put(clip(s.gradientNorm, 0, 10));
  }
  if (slots.length > 0) present.push("seedStates");
  else absent.push("seedStates");

  for (let j = 0; j < MAX_CANDIDATES; j++) {
    const b = candidates[j];
    if (b === undefined) {
      at += CANDIDATE_FEATURES;
      continue;
    }
    put(1);
    put(b.risk);
    put(b.quarantineOnly ? 1 : 0);
    put(b.approvalRequired ? 1 : 0);
    put(approved.has(b.blueprintId) ? 1 : 0);
    put(usable[j] ? 1 : 0);
    put(b.inputWidth === firstFree?.slotWidth ? 1 : 0);
    put(Math.log10(1 + b.parameterCount) / 8);
  }
  if (catalog.length > 0) present.push("catalog");
  else absent.push("catalog");

  return {
    vector: v,
    slots,
    candidates,
    usable,
    plateau,
    coverage: { present, absent, ratio: present.length / (present.length + absent.length) },
  };
}

/** Offset of slot `i`'s features in the vector. */
export function slotOffset(i: number): number {
  return GLOBAL_FEATURES.length + i * SLOT_FEATURES;
}

/** Offset of candidate `j`'s features in the vector. */
export function candidateOffset(j: number): number {
  return GLOBAL_FEATURES.length + MAX_SLOTS * SLOT_FEATURES + j * CANDIDATE_FEATURES;
}
