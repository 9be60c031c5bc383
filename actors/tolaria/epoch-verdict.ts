import type { EpochFigures } from "./state-packet.ts";

/** How an epoch was judged at its boundary: good, or failed with the reason (`loss_spike`) and its detail. */
export type EpochVerdict =
  | { readonly failed: false }
  | { readonly failed: true; readonly reason: "loss_spike"; readonly detail: string };

/**
 * Judges a finished epoch: a loss spike (its mean training loss exceeds the previous epoch's by more
 * than `lossSpikeDelta`, settings `tolaria.lossSpikeDelta`) fails it. The first epoch has no previous
 * loss (`lossDelta` 0) and cannot spike.
 */
export function judgeEpoch(figures: EpochFigures, lossSpikeDelta: number): EpochVerdict {
  if (figures.lossDelta > lossSpikeDelta)
    return {
      failed: true,
      reason: "loss_spike",
      detail: `epoch ${figures.epoch} loss ${figures.loss} is ${figures.lossDelta} above the previous epoch's (tolaria.lossSpikeDelta ${lossSpikeDelta})`,
    };
  return { failed: false };
}
