import { SeedLifecycleStage as S } from "../../contracts/enums.ts";
import {
  DuplicateSeedError,
  EmbargoActiveError,
  InvalidSnapshotError,
  SlotOccupiedError,
  UnknownSeedError,
  UnknownSlotError,
} from "./errors.ts";
import { type Clock, SeedLifecycle, type SeedLifecycleSnapshot } from "./lifecycle.ts";

/** One slot as plain data: its id and the seed it holds, if it ever held one. */
export interface SlotSnapshot {
  readonly slotId: string;
  readonly seed?: SeedLifecycleSnapshot | undefined;
}

/** The host model's slots, the embargo length (settings `seeds.embargoMs`) and a clock. */
export interface SlotTableOptions {
  readonly slotIds: readonly string[];
  readonly embargoMs: number;
  readonly clock: Clock;
}

/**
 * Which seed each slot of the host holds. A slot takes a new seed only when it is empty or its seed
 * is back in DORMANT (reset) or TERMINATED; while the slot's culled seed is under embargo, germination
 * is refused with EmbargoActiveError until the embargo ends. Seed ids are unique across live slots.
 */
export class SlotTable {
  private readonly seeds = new Map<string, SeedLifecycle | undefined>();
  private readonly embargoMs: number;
  private readonly clock: Clock;

  constructor(options: SlotTableOptions) {
    if (options.slotIds.length === 0) throw new RangeError("slotIds must name at least one slot");
    for (const slotId of options.slotIds) {
      if (this.seeds.has(slotId)) throw new RangeError(`slotIds lists slot ${slotId} twice`);
      this.seeds.set(slotId, undefined);
    }
    this.embargoMs = options.embargoMs;
    this.clock = options.clock;
  }

  /** The slot ids, in the order given. */
  get slotIds(): readonly string[] {
    return [...this.seeds.keys()];
  }

  /** The seed a slot holds (undefined when it never held one); throws UnknownSlotError. */
  seedAt(slotId: string): SeedLifecycle | undefined {
    if (!this.seeds.has(slotId)) throw new UnknownSlotError(slotId);
    return this.seeds.get(slotId);
  }

  /** The seed with this id that a slot holds, and that slot; throws UnknownSeedError. */
  find(seedId: string): { readonly slotId: string; readonly seed: SeedLifecycle } {
    for (const [slotId, seed] of this.seeds) {
      if (seed?.seedId === seedId) return { slotId, seed };
    }
    throw new UnknownSeedError(seedId);
  }

  /**
   * Puts a new seed `seedId` into `slotId` and moves it DORMANT → GERMINATED. Throws UnknownSlotError,
   * EmbargoActiveError (the slot's culled seed is under embargo), SlotOccupiedError (the slot's seed is
   * live) or DuplicateSeedError (the id is live in another slot).
   */
  germinate(slotId: string, seedId: string, reason: string): SeedLifecycle {
    const previous = this.seedAt(slotId);
    if (previous !== undefined) {
      const nowMs = this.clock();
      const until = previous.embargoUntilMs;
      if (until !== undefined && previous.embargoActive(nowMs)) {
        throw new EmbargoActiveError(`slot ${slotId}`, `germinating seed ${seedId}`, until, nowMs);
      }
      if (previous.stage !== S.DORMANT && previous.stage !== S.TERMINATED) {
        throw new SlotOccupiedError(slotId, previous.seedId, previous.stage);
      }
    }
    for (const [otherSlot, other] of this.seeds) {
      if (otherSlot !== slotId && other?.seedId === seedId && other.stage !== S.TERMINATED) {
        throw new DuplicateSeedError(seedId, otherSlot);
      }
    }
    const seed = new SeedLifecycle({ seedId, embargoMs: this.embargoMs, clock: this.clock });
    seed.transition(S.GERMINATED, reason);
    this.seeds.set(slotId, seed);
    return seed;
  }

  /** Every slot, in order, with its seed's state as plain data. */
  snapshot(): SlotSnapshot[] {
    return [...this.seeds].map(([slotId, seed]) => (seed ? { slotId, seed: seed.snapshot() } : { slotId }));
  }

  /**
   * A table in the state of `slots`. The snapshot must list exactly `options.slotIds`, in order;
   * otherwise (or for a seed whose history is not a chain of allowed transitions) InvalidSnapshotError.
   */
  static restore(options: SlotTableOptions, slots: readonly SlotSnapshot[]): SlotTable {
    const table = new SlotTable(options);
    const listed = slots.map((s) => s.slotId).join(", ");
    if (listed !== options.slotIds.join(", ")) {
      throw new InvalidSnapshotError(
        "slots",
        `lists [${listed}], the host has [${options.slotIds.join(", ")}]`,
      );
    }
    slots.forEach((slot, i) => {
      if (slot.seed === undefined) return;
      const restored = SeedLifecycle.restore(
        slot.seed,
        { embargoMs: options.embargoMs, clock: options.clock },
        `slots[${i}].seed`,
      );
      table.seeds.set(slot.slotId, restored);
    });
    return table;
  }
}
