import { describe, expect, it } from "vitest";
import {
  IllegalTransitionError,
  Lifecycle,
  type LifecycleChange,
  lifecycleTransitions,
} from "./lifecycle.ts";

describe("Lifecycle", () => {
  it("walks the normal path and tells listeners each change", () => {
    const lc = new Lifecycle();
    const seen: LifecycleChange[] = [];
    lc.onChange((c) => seen.push(c));
    expect(lc.state).toBe("created");
    lc.transition("preflight");
    lc.transition("starting");
    lc.transition("running");
    lc.transition("draining", "SIGTERM");
    lc.transition("stopped");
    expect(seen.map((c) => `${c.from}>${c.to}`)).toEqual([
      "created>preflight",
      "preflight>starting",
      "starting>running",
      "running>draining",
      "draining>stopped",
    ]);
    expect(seen[3]?.reason).toBe("SIGTERM");
    expect(lc.terminal).toBe(true);
  });

  it("throws on an illegal transition, naming from and to, and keeps the state", () => {
    const lc = new Lifecycle();
    lc.transition("preflight");
    expect(() => lc.transition("stopped")).toThrow(IllegalTransitionError);
    expect(() => lc.transition("stopped")).toThrow("illegal lifecycle transition preflight → stopped");
    expect(lc.state).toBe("preflight");
  });

  it("allows failed from every non-terminal state and nothing out of a terminal one", () => {
    for (const [from, targets] of Object.entries(lifecycleTransitions)) {
      if (targets.length === 0) continue;
      expect(targets, from).toContain("failed");
    }
    const lc = new Lifecycle();
    lc.transition("preflight");
    lc.transition("failed", "signing key missing");
    expect(lc.failureReason).toBe("signing key missing");
    for (const to of Object.keys(lifecycleTransitions) as (keyof typeof lifecycleTransitions)[]) {
      expect(lc.can(to)).toBe(false);
    }
  });

  it("changes state even when a listener throws, then rethrows; unsubscribed listeners are not called", () => {
    const lc = new Lifecycle();
    let calls = 0;
    const off = lc.onChange(() => calls++);
    lc.onChange(() => {
      throw new Error("listener broke");
    });
    expect(() => lc.transition("preflight")).toThrow("listener broke");
    expect(lc.state).toBe("preflight");
    expect(calls).toBe(1);
    off();
    expect(() => lc.transition("starting")).toThrow("listener broke");
    expect(calls).toBe(1);
  });
});
