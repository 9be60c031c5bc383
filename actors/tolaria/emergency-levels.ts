import { EmergencyLevel } from "../../contracts/enums.ts";

/** Why the level rose (the reference's triggers, plus a signed emergency command). */
export type EmergencyTrigger =
  | { readonly kind: "failedEpoch"; readonly breakerOpen: boolean; readonly reason: string }
  | { readonly kind: "rollbackDeadline"; readonly detail: string }
  | { readonly kind: "breakerOpen"; readonly detail: string }
  | { readonly kind: "command"; readonly level: EmergencyLevel; readonly reason: string };

/** A level change: from, to and the reason to publish in the EmergencySignal. */
export interface LevelChange {
  readonly from: EmergencyLevel;
  readonly to: EmergencyLevel;
  readonly reason: string;
}

/**
 * NOTICE → ELEVATED → CONSERVATIVE → HALT, raised only. A failed epoch raises to ELEVATED
 * (CONSERVATIVE when the breaker is open); `haltAfterFailedEpochs` failed epochs in a row, or a
 * rollback past its deadline, raise to HALT; the breaker opening raises to CONSERVATIVE; a signed emergency command raises to its level. A
 * successful epoch ends the failed streak but never lowers the level.
 */
export class EmergencyLevels {
  private current: EmergencyLevel = EmergencyLevel.NOTICE;
  private streak = 0;

  constructor(private readonly haltAfterFailedEpochs: number) {
    if (!Number.isSafeInteger(haltAfterFailedEpochs) || haltAfterFailedEpochs < 1)
      throw new RangeError(`haltAfterFailedEpochs must be an integer >= 1, got ${haltAfterFailedEpochs}`);
  }

  get level(): EmergencyLevel {
    return this.current;
  }

  get halted(): boolean {
    return this.current === EmergencyLevel.HALT;
  }

  /** Consecutive failed epochs. */
  get failedEpochStreak(): number {
    return this.streak;
  }

  /** A successful epoch: the failed streak ends. */
  epochSucceeded(): void {
    this.streak = 0;
  }

  /** Applies a trigger; returns the change, or undefined when the level stays. */
  raise(trigger: EmergencyTrigger): LevelChange | undefined {
    switch (trigger.kind) {
      case "failedEpoch": {
        this.streak++;
        if (this.streak >= this.haltAfterFailedEpochs)
          return this.to(
            EmergencyLevel.HALT,
            `${this.streak} failed epochs in a row (last: ${trigger.reason})`,
          );
        return trigger.breakerOpen
          ? this.to(EmergencyLevel.CONSERVATIVE, `failed epoch with the breaker open: ${trigger.reason}`)
          : this.to(EmergencyLevel.ELEVATED, `failed epoch: ${trigger.reason}`);
      }
      case "rollbackDeadline":
        return this.to(EmergencyLevel.HALT, `rollback_deadline: ${trigger.detail}`);
      case "breakerOpen":
        return this.to(EmergencyLevel.CONSERVATIVE, `breaker_open: ${trigger.detail}`);
      case "command":
        if (trigger.level === EmergencyLevel.UNSPECIFIED)
          throw new RangeError("an emergency command needs a level");
        return this.to(trigger.level, `emergency command: ${trigger.reason}`);
    }
  }

  private to(level: EmergencyLevel, reason: string): LevelChange | undefined {
    if (level <= this.current) return undefined;
    const change = { from: this.current, to: level, reason };
    this.current = level;
    return change;
  }
}
