import { BlendSchedule } from "../../contracts/enums.ts";
import type { BlendScheduleSpec } from "../../contracts/messages/command.ts";

/** Temperature of the reference's tanh ramp (Kasmina `blending.py`: total 20 steps, temperature 2). */
export const TANH_TEMPERATURE = 2;

/**
 * α after `step` blending steps (1 is the first step) of a directive's schedule, from `start` to `end`
 * over `steps` steps and held at `end` afterwards:
 * - LINEAR: start + (end − start)·f, f = min(step, steps)/steps;
 * - COSINE: start + (end − start)·(1 − cos(π·f))/2;
 * - TANH:   start + (end − start)·0.5·(1 + tanh(0.5·(s − steps/2)/TANH_TEMPERATURE)), s = min(step, steps)
 *           (the reference's ramp; it reaches `end` only approximately).
 * UNSPECIFIED and WARMUP_HOLD (no defined shape yet) throw, as do a step that is not an integer ≥ 1.
 */
export function scheduledAlpha(spec: BlendScheduleSpec, step: number): number {
  if (!Number.isSafeInteger(step) || step < 1)
    throw new RangeError(`blend step must be an integer >= 1, got ${step}`);
  const s = Math.min(step, spec.steps);
  const f = s / spec.steps;
  const span = spec.end - spec.start;
  switch (spec.shape) {
    case BlendSchedule.LINEAR:
      return spec.start + span * f;
    case BlendSchedule.COSINE:
      return spec.start + (span * (1 - Math.cos(Math.PI * f))) / 2;
    case BlendSchedule.TANH:
      return spec.start + span * 0.5 * (1 + Math.tanh((0.5 * (s - spec.steps / 2)) / TANH_TEMPERATURE));
    default:
      throw new RangeError(
        `blend schedule shape ${spec.shape} has no α ramp in Tolaria (LINEAR, COSINE, TANH)`,
      );
  }
}
