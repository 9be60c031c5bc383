/** Feature statistics and standardisation of a dataset's x. */
import type { Dataset } from "./dataset.ts";

/** Mean and standard deviation over every value of `ds.x` (one scalar pair, float64 accumulation). */
export function globalStats(ds: Dataset): { mean: number; std: number } {
  const x = ds.x;
  if (x.length === 0) throw new Error(`globalStats: dataset "${ds.name}" is empty`);
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    sum += v;
    sumSq += v * v;
  }
  const mean = sum / x.length;
  return { mean, std: Math.sqrt(Math.max(0, sumSq / x.length - mean * mean)) };
}

/** Standardises `ds.x` in place: (x − mean) / std. Use the training set's stats for every split. */
export function standardize(ds: Dataset, stats: { mean: number; std: number }): void {
  const { mean, std } = stats;
  if (!Number.isFinite(mean)) throw new Error(`standardize: mean must be finite, got ${mean}`);
  if (!(std > 0 && Number.isFinite(std))) throw new Error(`standardize: std must be > 0, got ${std}`);
  const x = ds.x;
  const inv = 1 / std;
  for (let i = 0; i < x.length; i++) x[i] = ((x[i] as number) - mean) * inv;
}
