import { SeedLifecycleStage } from "../../contracts/enums.ts";

/** A seed's stage: one of the 11 SeedLifecycleStage codes (UNKNOWN, code 0, means "not set" and is no stage). */
export type SeedStage = Exclude<SeedLifecycleStage, typeof SeedLifecycleStage.UNKNOWN>;

/** The 11 stages in declaration order. */
export const seedStages: readonly SeedStage[] = [
  SeedLifecycleStage.DORMANT,
  SeedLifecycleStage.GERMINATED,
  SeedLifecycleStage.TRAINING,
  SeedLifecycleStage.BLENDING,
  SeedLifecycleStage.SHADOWING,
  SeedLifecycleStage.PROBATIONARY,
  SeedLifecycleStage.FOSSILIZED,
  SeedLifecycleStage.CULLED,
  SeedLifecycleStage.EMBARGOED,
  SeedLifecycleStage.RESETTING,
  SeedLifecycleStage.TERMINATED,
];

const names = new Map<number, string>(Object.entries(SeedLifecycleStage).map(([name, code]) => [code, name]));

/** The enum name of a stage code (`BLENDING`), or `stage <code>` for a code the contracts do not define. */
export function stageName(stage: number): string {
  return names.get(stage) ?? `stage ${stage}`;
}
