import { type SeedStage, stageName } from "./stages.ts";

/** A seed stage change that the transition table does not allow (including a move to the same stage). */
export class IllegalSeedTransitionError extends Error {
  override readonly name = "IllegalSeedTransitionError";
  constructor(
    readonly seedId: string,
    readonly from: SeedStage,
    readonly to: SeedStage,
  ) {
    super(`seed ${seedId}: illegal lifecycle transition ${stageName(from)} → ${stageName(to)}`);
  }
}

/** An action refused because an embargo (after a cull) has not ended yet. */
export class EmbargoActiveError extends Error {
  override readonly name = "EmbargoActiveError";
  constructor(
    /** The embargoed thing, e.g. `seed s1` or `slot conv2`. */
    readonly subject: string,
    readonly action: string,
    readonly embargoUntilMs: number,
    readonly nowMs: number,
  ) {
    super(
      `${subject} is under embargo until ${embargoUntilMs} (${embargoUntilMs - nowMs} ms left): ${action} refused`,
    );
  }
}

/** A slot id that is not one of the host model's slots. */
export class UnknownSlotError extends Error {
  override readonly name = "UnknownSlotError";
  constructor(readonly slotId: string) {
    super(`slot ${slotId} is not a slot of the host model`);
  }
}

/** A seed id that no slot holds. */
export class UnknownSeedError extends Error {
  override readonly name = "UnknownSeedError";
  constructor(readonly seedId: string) {
    super(`seed ${seedId} is not held by any slot`);
  }
}

/** Germination refused because the slot's seed is still live (or the seed id is already in use). */
export class SlotOccupiedError extends Error {
  override readonly name = "SlotOccupiedError";
  constructor(
    readonly slotId: string,
    readonly seedId: string,
    readonly stage: SeedStage,
  ) {
    super(
      `slot ${slotId} holds seed ${seedId} in ${stageName(stage)}: cull and reset it (or let it terminate) before germinating`,
    );
  }
}

/** A seed id that is already live in another slot. */
export class DuplicateSeedError extends Error {
  override readonly name = "DuplicateSeedError";
  constructor(
    readonly seedId: string,
    readonly slotId: string,
  ) {
    super(`seed ${seedId} is already live in slot ${slotId}: seed ids are unique`);
  }
}

/** A report window that mixes seeds: advance rules judge one seed at a time. */
export class MixedSeedWindowError extends Error {
  override readonly name = "MixedSeedWindowError";
  constructor(
    readonly expectedSeedId: string,
    readonly foundSeedId: string,
  ) {
    super(`report window for seed ${expectedSeedId} contains a report of seed ${foundSeedId}`);
  }
}

/** A controller snapshot that cannot be restored: `field` is the path of the offending value. */
export class InvalidSnapshotError extends Error {
  override readonly name = "InvalidSnapshotError";
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`snapshot ${field}: ${problem}`);
  }
}
