/**
 * The id of the seed a slot offers: `<slotId>-g<generation>`, the generation being the number of seeds
 * grafted into the slot before it (0 for the slot's first seed; a seed culled after its graft makes the
 * slot offer the next generation). Tolaria names free slots with it, Kasmina follows the same count.
 */
export function seedIdOf(slotId: string, generation: number): string {
  if (!Number.isSafeInteger(generation) || generation < 0)
    throw new RangeError(`seed generation must be an integer >= 0, got ${generation}`);
  return `${slotId}-g${generation}`;
}
