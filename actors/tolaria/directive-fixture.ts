import { validate } from "../../contracts/codec.ts";
import { BlendMode, BlendSchedule, SeedLifecycleStage } from "../../contracts/enums.ts";
import type { KernelRef, SeedDirective } from "../../contracts/messages/seed.ts";

/** Test helper: a contract-valid SeedDirective for `seedId` in slot `s1` (fields overridable). */
export function directive(
  seedId: string,
  sequence: number,
  fields: Partial<SeedDirective> & Pick<SeedDirective, "action" | "stage">,
): SeedDirective {
  return validate("SeedDirective", {
    directiveId: `d-${seedId}-${sequence}`,
    trainingRunId: "run-1",
    seedId,
    slotId: "s1",
    sequence,
    blendMode: BlendMode.RESIDUAL,
    alpha: 0,
    includeTeacher: false,
    issuedAt: 1_700_000_000_000,
    ...fields,
  });
}

/** Test helper: graft → TRAINING. */
export const graftDirective = (seedId: string, sequence: number, kernel: KernelRef): SeedDirective =>
  directive(seedId, sequence, { action: "graft", stage: SeedLifecycleStage.TRAINING, kernel });

/** Test helper: update → BLENDING with a linear α ramp from 0 to 1 over `steps` steps. */
export const blendDirective = (seedId: string, sequence: number, steps: number): SeedDirective =>
  directive(seedId, sequence, {
    action: "update",
    stage: SeedLifecycleStage.BLENDING,
    schedule: { shape: BlendSchedule.LINEAR, steps, start: 0, end: 1 },
  });
