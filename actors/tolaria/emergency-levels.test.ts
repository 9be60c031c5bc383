import { describe, expect, it } from "vitest";
import { EmergencyLevel } from "../../contracts/enums.ts";
import { EmergencyLevels } from "./emergency-levels.ts";

describe("EmergencyLevels", () => {
  it("starts at NOTICE; a failed epoch raises to ELEVATED, with the breaker open to CONSERVATIVE; never lowers", () => {
    const e = new EmergencyLevels(3);
    expect(e.level).toBe(EmergencyLevel.NOTICE);
    expect(e.raise({ kind: "failedEpoch", breakerOpen: false, reason: "epoch_budget" })).toEqual({
      from: EmergencyLevel.NOTICE,
      to: EmergencyLevel.ELEVATED,
      reason: "failed epoch: epoch_budget",
    });
    e.epochSucceeded();
    expect(e.raise({ kind: "failedEpoch", breakerOpen: true, reason: "breaker_open" })?.to).toBe(
      EmergencyLevel.CONSERVATIVE,
    );
    e.epochSucceeded();
    expect(e.raise({ kind: "failedEpoch", breakerOpen: false, reason: "x" })).toBeUndefined();
    expect(e.level).toBe(EmergencyLevel.CONSERVATIVE);
  });

  it("halts after 3 failed epochs in a row, on a rollback deadline, or on a HALT command", () => {
    const streak = new EmergencyLevels(3);
    for (let i = 0; i < 2; i++) streak.raise({ kind: "failedEpoch", breakerOpen: false, reason: "x" });
    expect(streak.raise({ kind: "failedEpoch", breakerOpen: false, reason: "x" })?.reason).toBe(
      "3 failed epochs in a row (last: x)",
    );
    expect(streak.halted).toBe(true);
    const deadline = new EmergencyLevels(3);
    expect(deadline.raise({ kind: "rollbackDeadline", detail: "full restore took > 12000 ms" })?.to).toBe(
      EmergencyLevel.HALT,
    );
    const command = new EmergencyLevels(3);
    expect(
      command.raise({ kind: "command", level: EmergencyLevel.HALT, reason: "restart intensity" })?.to,
    ).toBe(EmergencyLevel.HALT);
  });

  it("the breaker opening raises to CONSERVATIVE, not past a higher level", () => {
    const e = new EmergencyLevels(3);
    expect(e.raise({ kind: "breakerOpen", detail: "3 decision failures" })).toEqual({
      from: EmergencyLevel.NOTICE,
      to: EmergencyLevel.CONSERVATIVE,
      reason: "breaker_open: 3 decision failures",
    });
    expect(e.raise({ kind: "breakerOpen", detail: "again" })).toBeUndefined();
  });
});
