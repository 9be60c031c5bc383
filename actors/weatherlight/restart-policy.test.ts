import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validate } from "../../contracts/codec.ts";
import { ContractError } from "../../contracts/errors.ts";
import { createRng } from "../../nn/rng.ts";
import {
  type ChildFailure,
  describeFailure,
  RestartPolicy,
  type RestartPolicySettings,
} from "./restart-policy.ts";

const defaults = validate("WorkerSettings", {}).supervisor;
const noJitter: RestartPolicySettings = { ...defaults, backoffJitter: 0 };

const crash = (code: number): ChildFailure => ({ kind: "exited", exit: { code, signal: null } });
const killed: ChildFailure = { kind: "exited", exit: { code: null, signal: "SIGKILL" } };

/** A policy on a clock the test moves. */
function policyAt(settings: RestartPolicySettings, random: () => number = () => 0) {
  const clock = { ms: 1_000_000 };
  return {
    clock,
    policy: new RestartPolicy(
      () => settings,
      () => clock.ms,
      random,
    ),
  };
}

describe("worker settings, supervisor section", () => {
  it("holds the restart defaults: 5 restarts within 60 s, backoff 100 ms ×2 up to 10 s, jitter 0.25", () => {
    expect(defaults).toMatchObject({
      restartIntensity: 5,
      restartPeriodMs: 60_000,
      backoffBaseMs: 100,
      backoffMaxMs: 10_000,
      backoffFactor: 2,
      backoffJitter: 0.25,
    });
  });

  it("refuses a backoff maximum below its base, naming the field", () => {
    const bad = () =>
      validate("WorkerSettings", { supervisor: { backoffBaseMs: 5_000, backoffMaxMs: 1_000 } });
    expect(bad).toThrow(ContractError);
    expect(bad).toThrow(/supervisor\.backoffMaxMs: must be at least backoffBaseMs/);
  });
});

describe("RestartPolicy", () => {
  it("restarts a first crash at once, repeated ones with a doubling backoff, then degrades past the intensity", () => {
    const { clock, policy } = policyAt(noJitter);
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const d = policy.decide("kasmina", crash(1));
      expect(d.action).toBe("restart");
      if (d.action === "restart") {
        expect(d.attempt).toBe(i + 1);
        delays.push(d.delayMs);
      }
      clock.ms += 1_000;
    }
    expect(delays).toEqual([0, 100, 200, 400, 800]);
    const sixth = policy.decide("kasmina", crash(1));
    expect(sixth).toEqual({
      action: "degrade",
      reason:
        "restart intensity exceeded: 5 restarts within 60000 ms, then kasmina exited with code 1 (crashed)",
    });
  });

  it("caps the backoff at backoffMaxMs", () => {
    const { policy } = policyAt({ ...noJitter, restartIntensity: 20 });
    const delays = Array.from({ length: 9 }, () => {
      const d = policy.decide("urza", killed);
      return d.action === "restart" ? d.delayMs : -1;
    });
    expect(delays).toEqual([0, 100, 200, 400, 800, 1_600, 3_200, 6_400, 10_000]);
  });

  it("forgets restarts older than the period: the intensity and the backoff start over", () => {
    const { clock, policy } = policyAt(noJitter);
    for (let i = 0; i < 5; i++) policy.decide("tamiyo", killed);
    clock.ms += 60_000;
    expect(policy.restartsInPeriod()).toBe(0);
    expect(policy.decide("tamiyo", killed)).toEqual({ action: "restart", delayMs: 0, attempt: 1 });
    expect(policy.decide("tamiyo", killed)).toEqual({ action: "restart", delayMs: 100, attempt: 2 });
  });

  it("reads its settings at every decision: a raised intensity or another backoff applies to the next failure", () => {
    let settings: RestartPolicySettings = { ...noJitter, restartIntensity: 1 };
    const policy = new RestartPolicy(
      () => settings,
      () => 1_000_000,
      () => 0,
    );
    expect(policy.decide("urza", killed)).toMatchObject({ action: "restart", delayMs: 0 });
    settings = { ...settings, restartIntensity: 4, backoffBaseMs: 40 };
    expect(policy.decide("urza", killed)).toMatchObject({ action: "restart", delayMs: 40 });
    expect(policy.decide("urza", killed)).toMatchObject({ action: "restart", delayMs: 80 });
    expect(policy.decide("kasmina", killed)).toMatchObject({ action: "restart", delayMs: 0 });
    expect(policy.decide("tamiyo", killed).action).toBe("degrade");
  });

  it("counts the intensity over every child together (OTP), the backoff per child", () => {
    const { policy } = policyAt({ ...noJitter, restartIntensity: 2 });
    expect(policy.decide("urza", killed)).toMatchObject({ action: "restart", delayMs: 0 });
    expect(policy.decide("kasmina", killed)).toMatchObject({ action: "restart", delayMs: 0 });
    expect(policy.decide("tamiyo", killed).action).toBe("degrade");
  });

  it.each([
    [2, "badConfig"],
    [5, "preflightFailed"],
    [7, "gaveUp"],
  ])("never restarts permanent exit code %i (%s), naming the child and the code", (code, name) => {
    const { policy } = policyAt(defaults);
    expect(policy.decide("tolaria", crash(code))).toEqual({
      action: "give-up",
      reason: `tolaria exited with code ${code} (${name}): a permanent failure, not restarted`,
    });
    expect(policy.restartsInPeriod()).toBe(0);
  });

  it("restarts silence, an unasked exit 0 and a restart that never became ready", () => {
    const { policy } = policyAt(defaults);
    expect(policy.decide("urza", { kind: "silent", silentForMs: 5_000 }).action).toBe("restart");
    expect(policy.decide("urza", crash(0)).action).toBe("restart");
    expect(policy.decide("urza", { kind: "not-ready", problem: "not ready within 60000 ms" }).action).toBe(
      "restart",
    );
  });

  it("adds up to backoffJitter of a repeated restart's delay from the injected random numbers", () => {
    const second = (random: () => number) => {
      const { policy } = policyAt(defaults, random);
      expect(policy.decide("urza", killed)).toMatchObject({ delayMs: 0 });
      return policy.decide("urza", killed);
    };
    expect(second(() => 0.5)).toMatchObject({ delayMs: 113 });
    expect(second(() => 0.999)).toMatchObject({ delayMs: 125 });
  });

  it("describes each kind of failure", () => {
    expect(describeFailure("urza", killed)).toBe("urza was killed by SIGKILL");
    expect(describeFailure("urza", crash(42))).toBe("urza exited with code 42");
    expect(describeFailure("urza", { kind: "silent", silentForMs: 5_000 })).toBe(
      "urza sent no heartbeat for 5000 ms",
    );
  });
});

const settingsArb: fc.Arbitrary<RestartPolicySettings> = fc
  .record({
    restartIntensity: fc.integer({ min: 0, max: 12 }),
    restartPeriodMs: fc.integer({ min: 1_000, max: 120_000 }),
    backoffBaseMs: fc.integer({ min: 0, max: 5_000 }),
    extraMaxMs: fc.integer({ min: 0, max: 60_000 }),
    backoffFactor: fc.double({ min: 1, max: 10, noNaN: true }),
    backoffJitter: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ extraMaxMs, ...s }) => ({ ...s, backoffMaxMs: s.backoffBaseMs + extraMaxMs }));

/** Failures of three children at increasing times (gaps in ms). */
const failuresArb = fc.array(
  fc.record({
    gapMs: fc.integer({ min: 0, max: 30_000 }),
    actor: fc.constantFrom("urza", "kasmina", "tolaria"),
    failure: fc.oneof(
      fc.constantFrom(1, 4, 6, 0, 3, 42).map(crash),
      fc.constant(killed),
      fc.constant<ChildFailure>({ kind: "silent", silentForMs: 5_000 }),
    ),
  }),
  { maxLength: 60 },
);

describe("RestartPolicy properties", () => {
  it("grants at most restartIntensity restarts in any window of restartPeriodMs, and degrades only at the limit", () => {
    fc.assert(
      fc.property(settingsArb, failuresArb, fc.integer(), (settings, failures, seed) => {
        const rng = createRng(seed >>> 0);
        const { clock, policy } = policyAt(settings, () => rng.next());
        const restartTimes: number[] = [];
        for (const f of failures) {
          clock.ms += f.gapMs;
          const inWindow = restartTimes.filter((t) => t > clock.ms - settings.restartPeriodMs).length;
          const d = policy.decide(f.actor, f.failure);
          if (d.action === "restart") restartTimes.push(clock.ms);
          expect(d.action).toBe(inWindow >= settings.restartIntensity ? "degrade" : "restart");
        }
        for (const t of restartTimes) {
          const window = restartTimes.filter((u) => u >= t && u < t + settings.restartPeriodMs);
          expect(window.length).toBeLessThanOrEqual(settings.restartIntensity);
        }
      }),
    );
  });

  it("restarts each child's first failure in the period at once, and keeps every later delay between the un-jittered backoff and backoffMaxMs", () => {
    fc.assert(
      fc.property(settingsArb, failuresArb, fc.integer(), (settings, failures, seed) => {
        const rng = createRng(seed >>> 0);
        const { clock, policy } = policyAt(settings, () => rng.next());
        for (const f of failures) {
          clock.ms += f.gapMs;
          const d = policy.decide(f.actor, f.failure);
          if (d.action !== "restart") continue;
          if (d.attempt === 1) {
            expect(d.delayMs).toBe(0);
            continue;
          }
          const backoff = Math.min(
            settings.backoffMaxMs,
            settings.backoffBaseMs * settings.backoffFactor ** (d.attempt - 2),
          );
          expect(d.delayMs).toBeGreaterThanOrEqual(backoff);
          expect(d.delayMs).toBeLessThanOrEqual(settings.backoffMaxMs);
          expect(d.delayMs).toBeLessThanOrEqual(Math.ceil(backoff * (1 + settings.backoffJitter)));
        }
      }),
    );
  });

  it("never restarts a permanent exit code, whatever came before", () => {
    fc.assert(
      fc.property(settingsArb, failuresArb, fc.constantFrom(2, 5, 7), (settings, failures, code) => {
        const { clock, policy } = policyAt(settings);
        for (const f of failures) {
          clock.ms += f.gapMs;
          policy.decide(f.actor, f.failure);
        }
        expect(policy.decide("urza", crash(code)).action).toBe("give-up");
      }),
    );
  });

  it("gives the same decisions for the same seed", () => {
    fc.assert(
      fc.property(settingsArb, failuresArb, fc.integer(), (settings, failures, seed) => {
        const run = () => {
          const rng = createRng(seed >>> 0);
          const { clock, policy } = policyAt(settings, () => rng.next());
          return failures.map((f) => {
            clock.ms += f.gapMs;
            return policy.decide(f.actor, f.failure);
          });
        };
        expect(run()).toEqual(run());
      }),
    );
  });
});
