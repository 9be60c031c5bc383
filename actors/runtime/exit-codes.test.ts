import { describe, expect, it } from "vitest";
import { ActorExitCode, isCrash, isPermanentFailure } from "./exit-codes.ts";

describe("ActorExitCode", () => {
  it("separates permanent failures from crashes; clean and asked-for ends are neither", () => {
    const permanent = Object.values(ActorExitCode).filter(isPermanentFailure);
    const crashes = Object.values(ActorExitCode).filter(isCrash);
    expect(permanent).toEqual([ActorExitCode.badConfig, ActorExitCode.preflightFailed, ActorExitCode.gaveUp]);
    expect(crashes).toEqual([ActorExitCode.crashed, ActorExitCode.graceExpired, ActorExitCode.taskFailed]);
    expect(isPermanentFailure(ActorExitCode.ok) || isCrash(ActorExitCode.ok)).toBe(false);
    expect(isPermanentFailure(ActorExitCode.forced) || isCrash(ActorExitCode.forced)).toBe(false);
    expect(new Set(Object.values(ActorExitCode)).size).toBe(Object.values(ActorExitCode).length);
  });
});
