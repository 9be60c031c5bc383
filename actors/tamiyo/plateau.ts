/** What the plateau detector found over a series of per-epoch validation losses. */
export interface PlateauStatus {
  readonly plateaued: boolean;
  /** Epochs since the last one that improved the best loss by more than ε (relative). */
  readonly epochsWithoutImprovement: number;
  /** The best loss that counted as a significant improvement (the first loss if none did); undefined without losses. */
  readonly best: number | undefined;
  /** Number of losses examined. */
  readonly observed: number;
}

/** Plateau rule parameters: `epochs` (k ≥ 1) epochs without relative improvement greater than `minRelativeImprovement` (ε ≥ 0). */
export interface PlateauRule {
  readonly epochs: number;
  readonly minRelativeImprovement: number;
}

/**
 * Detects a plateau in per-epoch validation losses (oldest first). An epoch improves when
 * `best − loss > ε·|best|`; it then becomes the new best. Plateaued when the last k epochs did not
 * improve. Throws a RangeError naming the input for k, ε or a loss out of range.
 */
export function detectPlateau(losses: readonly number[], rule: PlateauRule): PlateauStatus {
  const { epochs: k, minRelativeImprovement: eps } = rule;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`plateau epochs must be an integer >= 1, got ${k}`);
  if (!Number.isFinite(eps) || eps < 0) {
    throw new RangeError(`plateau minRelativeImprovement must be a finite number >= 0, got ${eps}`);
  }
  const first = losses[0];
  if (first === undefined)
    return { plateaued: false, epochsWithoutImprovement: 0, best: undefined, observed: 0 };
  let best = checkedLoss(first, 0);
  let stale = 0;
  for (let i = 1; i < losses.length; i++) {
    const loss = checkedLoss(losses[i] as number, i);
    if (best - loss > eps * Math.abs(best)) {
      best = loss;
      stale = 0;
    } else stale++;
  }
  return { plateaued: stale >= k, epochsWithoutImprovement: stale, best, observed: losses.length };
}

function checkedLoss(loss: number, index: number): number {
  if (!Number.isFinite(loss)) throw new RangeError(`validation loss [${index}] must be finite, got ${loss}`);
  return loss;
}
