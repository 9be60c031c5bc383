import { SeedLifecycleStage as S } from "../../contracts/enums.ts";
import { EmbargoActiveError, IllegalSeedTransitionError, InvalidSnapshotError } from "./errors.ts";
import { type SeedStage, stageName } from "./stages.ts";

/** Milliseconds since the epoch, injected so that tests and replays control time. */
export type Clock = () => number;

/**
 * Allowed seed stage transitions (reference `lifecycle.py`). A new seed starts DORMANT; the happy path
 * runs to FOSSILIZED; any judged stage may be CULLED, which leads through EMBARGOED and RESETTING back
 * to DORMANT; FOSSILIZED and DORMANT may terminate; TERMINATED is final.
 */
export const seedTransitions: Readonly<Record<SeedStage, readonly SeedStage[]>> = {
  [S.DORMANT]: [S.GERMINATED, S.TERMINATED],
  [S.GERMINATED]: [S.TRAINING, S.CULLED],
  [S.TRAINING]: [S.BLENDING, S.CULLED],
  [S.BLENDING]: [S.SHADOWING, S.CULLED],
  [S.SHADOWING]: [S.PROBATIONARY, S.CULLED],
  [S.PROBATIONARY]: [S.FOSSILIZED, S.CULLED],
  [S.FOSSILIZED]: [S.TERMINATED],
  [S.CULLED]: [S.EMBARGOED],
  [S.EMBARGOED]: [S.RESETTING],
  [S.RESETTING]: [S.DORMANT],
  [S.TERMINATED]: [],
};

/** One stage change of a seed. */
export interface SeedTransition {
  readonly from: SeedStage;
  readonly to: SeedStage;
  readonly reason: string;
  readonly atMs: number;
}

/** One seed's state as plain data: its id, stage, every transition and the end of its last embargo. */
export interface SeedLifecycleSnapshot {
  readonly seedId: string;
  readonly stage: SeedStage;
  readonly history: readonly SeedTransition[];
  readonly embargoUntilMs?: number | undefined;
}

/** What a seed's state machine needs: its id, the embargo length after a cull (settings `seeds.embargoMs`) and a clock. */
export interface SeedLifecycleOptions {
  readonly seedId: string;
  readonly embargoMs: number;
  readonly clock: Clock;
}

/**
 * The state machine of one seed. Every move not in `seedTransitions` (a move to the same stage too)
 * throws IllegalSeedTransitionError and leaves the seed unchanged. CULLED → EMBARGOED starts an embargo
 * of `embargoMs`; EMBARGOED → RESETTING is refused with EmbargoActiveError until it has ended.
 */
export class SeedLifecycle {
  readonly seedId: string;
  private readonly embargoMs: number;
  private readonly clock: Clock;
  private current: SeedStage = S.DORMANT;
  private readonly changes: SeedTransition[] = [];
  private embargoUntil: number | undefined;

  constructor(options: SeedLifecycleOptions) {
    if (!Number.isInteger(options.embargoMs) || options.embargoMs < 0) {
      throw new RangeError(`embargoMs must be an integer >= 0, got ${options.embargoMs}`);
    }
    this.seedId = options.seedId;
    this.embargoMs = options.embargoMs;
    this.clock = options.clock;
  }

  /** The current stage. */
  get stage(): SeedStage {
    return this.current;
  }

  /** Every transition so far, oldest first. */
  get history(): readonly SeedTransition[] {
    return this.changes;
  }

  /** When the last embargo ends (ms since the epoch); undefined if the seed was never embargoed. */
  get embargoUntilMs(): number | undefined {
    return this.embargoUntil;
  }

  /** Whether an embargo is running at `nowMs`. */
  embargoActive(nowMs: number): boolean {
    return this.embargoUntil !== undefined && nowMs < this.embargoUntil;
  }

  /** Whether `to` is in the table for the current stage (the embargo is not considered). */
  can(to: SeedStage): boolean {
    return seedTransitions[this.current].includes(to);
  }

  /** Moves to `to` and returns the recorded change, or throws (IllegalSeedTransitionError, EmbargoActiveError). */
  transition(to: SeedStage, reason: string): SeedTransition {
    const from = this.current;
    if (!this.can(to)) throw new IllegalSeedTransitionError(this.seedId, from, to);
    const atMs = this.clock();
    if (from === S.EMBARGOED && this.embargoUntil !== undefined && atMs < this.embargoUntil) {
      throw new EmbargoActiveError(`seed ${this.seedId}`, "reset", this.embargoUntil, atMs);
    }
    if (to === S.EMBARGOED) this.embargoUntil = atMs + this.embargoMs;
    this.current = to;
    const change: SeedTransition = { from, to, reason, atMs };
    this.changes.push(change);
    return change;
  }

  /** The seed's state as plain data (copies; later transitions do not change it). */
  snapshot(): SeedLifecycleSnapshot {
    return {
      seedId: this.seedId,
      stage: this.current,
      history: this.changes.map((c) => ({ ...c })),
      ...(this.embargoUntil !== undefined ? { embargoUntilMs: this.embargoUntil } : {}),
    };
  }

  /**
   * A seed in the state of `snapshot`. The history must be a chain of allowed transitions from DORMANT
   * that ends in `stage`; otherwise InvalidSnapshotError names the entry (`field` prefixes the paths).
   */
  static restore(
    snapshot: SeedLifecycleSnapshot,
    options: Omit<SeedLifecycleOptions, "seedId">,
    field = "seed",
  ): SeedLifecycle {
    const seed = new SeedLifecycle({ ...options, seedId: snapshot.seedId });
    let stage: SeedStage = S.DORMANT;
    snapshot.history.forEach((change, i) => {
      if (change.from !== stage || !seedTransitions[stage].includes(change.to)) {
        throw new InvalidSnapshotError(
          `${field}.history[${i}]`,
          `${stageName(change.from)} → ${stageName(change.to)} does not follow ${stageName(stage)} by an allowed transition`,
        );
      }
      stage = change.to;
      seed.changes.push({ ...change });
    });
    if (stage !== snapshot.stage) {
      throw new InvalidSnapshotError(
        `${field}.stage`,
        `is ${stageName(snapshot.stage)} but the history ends in ${stageName(stage)}`,
      );
    }
    seed.current = stage;
    seed.embargoUntil = snapshot.embargoUntilMs;
    return seed;
  }
}
