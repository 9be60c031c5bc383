/**
 * Learning-rate schedules: pure functions from a 0-based step count to a learning rate.
 * Compose warmup with any schedule: `linearWarmup(cosineLr({...}), {...})`.
 */

/** A learning rate as a pure function of the 0-based step. */
export type LrSchedule = (step: number) => number;

function requirePositiveFinite(value: number, field: string): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${field} must be a finite number > 0, got ${String(value)}`);
  }
}

function requireNonNegativeFinite(value: number, field: string): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(`${field} must be a finite number >= 0, got ${String(value)}`);
  }
}

function requireStep(step: number): void {
  if (!Number.isInteger(step) || step < 0)
    throw new Error(`schedule step must be an integer >= 0, got ${step}`);
}

/** Always `lr`. */
export function constantLr(lr: number): LrSchedule {
  requireNonNegativeFinite(lr, "constantLr.lr");
  return (step) => {
    requireStep(step);
    return lr;
  };
}

/** `base · gamma^floor(step / stepSize)`. */
export function stepLr(options: { base: number; stepSize: number; gamma: number }): LrSchedule {
  const { base, stepSize, gamma } = options;
  requireNonNegativeFinite(base, "stepLr.base");
  if (!Number.isInteger(stepSize) || stepSize <= 0) {
    throw new Error(`stepLr.stepSize must be an integer > 0, got ${stepSize}`);
  }
  requirePositiveFinite(gamma, "stepLr.gamma");
  return (step) => {
    requireStep(step);
    return base * gamma ** Math.floor(step / stepSize);
  };
}

/** `min + (base - min) · ½(1 + cos(π · min(step, totalSteps) / totalSteps))`; stays at `min` after. */
export function cosineLr(options: { base: number; totalSteps: number; min: number }): LrSchedule {
  const { base, totalSteps, min } = options;
  requireNonNegativeFinite(base, "cosineLr.base");
  requireNonNegativeFinite(min, "cosineLr.min");
  if (!Number.isInteger(totalSteps) || totalSteps <= 0) {
    throw new Error(`cosineLr.totalSteps must be an integer > 0, got ${totalSteps}`);
  }
  return (step) => {
    requireStep(step);
    const t = Math.min(step, totalSteps);
    return min + (base - min) * 0.5 * (1 + Math.cos((Math.PI * t) / totalSteps));
  };
}

/**
 * Linear warmup before `inner`: for step < steps, `inner(0) · max(floor, (step + 1) / steps)`;
 * afterwards `inner(step - steps)` (the inner schedule starts when warmup ends).
 * `floor` in [0, 1] bounds the first factors (the original trainer used 0.1).
 */
export function linearWarmup(inner: LrSchedule, options: { steps: number; floor: number }): LrSchedule {
  const { steps, floor } = options;
  if (!Number.isInteger(steps) || steps <= 0) {
    throw new Error(`linearWarmup.steps must be an integer > 0, got ${steps}`);
  }
  if (!(floor >= 0 && floor <= 1)) throw new Error(`linearWarmup.floor must be in [0, 1], got ${floor}`);
  return (step) => {
    requireStep(step);
    if (step < steps) return inner(0) * Math.max(floor, (step + 1) / steps);
    return inner(step - steps);
  };
}
