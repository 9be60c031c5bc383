/** The blend ramp: `totalSteps` (settings `seeds.blendSteps`; reference 20) and its temperature (reference 2). */
export interface AlphaSchedule {
  readonly totalSteps: number;
  readonly temperature: number;
}

/**
 * The seed's blend weight after `step` blending steps (reference `blending.py`):
 * α = 0.5·(1 + tanh(0.5·(step − total/2) / temperature)), rising monotonically from near 0 to near 1;
 * a schedule with `totalSteps` ≤ 0 blends fully at once (α = 1). Throws RangeError for a negative or
 * fractional step, a fractional total or a temperature that is not a finite number > 0.
 */
export function alphaAt(step: number, schedule: AlphaSchedule): number {
  const { totalSteps, temperature } = schedule;
  if (!Number.isSafeInteger(step) || step < 0)
    throw new RangeError(`step must be an integer >= 0, got ${step}`);
  if (!Number.isSafeInteger(totalSteps))
    throw new RangeError(`totalSteps must be an integer, got ${totalSteps}`);
  if (!Number.isFinite(temperature) || temperature <= 0) {
    throw new RangeError(`temperature must be a finite number > 0, got ${temperature}`);
  }
  if (totalSteps <= 0) return 1;
  return 0.5 * (1 + Math.tanh((0.5 * (step - totalSteps / 2)) / temperature));
}

/** Whether `step` blending steps complete the schedule (step ≥ totalSteps). */
export function blendComplete(step: number, schedule: AlphaSchedule): boolean {
  return step >= schedule.totalSteps;
}
