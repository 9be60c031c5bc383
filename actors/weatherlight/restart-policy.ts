import type { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import { ActorExitCode, isPermanentFailure } from "../runtime/exit-codes.ts";
import type { ChildExit } from "./child-processes.ts";

/** The worker settings (`supervisor` section) a restart policy reads. */
export type RestartPolicySettings = Pick<
  WorkerSettings["supervisor"],
  | "restartIntensity"
  | "restartPeriodMs"
  | "backoffBaseMs"
  | "backoffMaxMs"
  | "backoffFactor"
  | "backoffJitter"
>;

/** Why a supervised child needs a decision: it exited unasked, its heartbeats stopped, or a restart never became ready. */
export type ChildFailure =
  | { readonly kind: "exited"; readonly exit: ChildExit }
  | { readonly kind: "silent"; readonly silentForMs: number }
  | { readonly kind: "not-ready"; readonly problem: string };

/** What to do about a failed child. */
export type RestartDecision =
  /** Respawn after `delayMs`; `attempt` counts this child's restarts within the period, this one included. */
  | { readonly action: "restart"; readonly delayMs: number; readonly attempt: number }
  /** A permanent failure (the runtime's exit-code table): the same start would fail the same way. */
  | { readonly action: "give-up"; readonly reason: string }
  /** The restart intensity is exceeded: the system is degraded. */
  | { readonly action: "degrade"; readonly reason: string };

const EXIT_CODE_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(ActorExitCode).map(([name, code]) => [code, name]),
);

/** A failure in words, naming the child: `urza exited with code 5 (preflightFailed)`, `urza was killed by SIGKILL`, … */
export function describeFailure(actor: string, failure: ChildFailure): string {
  switch (failure.kind) {
    case "exited": {
      const { code, signal } = failure.exit;
      if (signal !== null) return `${actor} was killed by ${signal}`;
      const name = code === null ? undefined : EXIT_CODE_NAMES.get(code);
      return `${actor} exited with code ${code}${name !== undefined ? ` (${name})` : ""}`;
    }
    case "silent":
      return `${actor} sent no heartbeat for ${failure.silentForMs} ms`;
    case "not-ready":
      return `${actor} did not become ready after its restart: ${failure.problem}`;
  }
}

/**
 * When a supervised child is restarted (pure: clock and random numbers injected). A permanent exit
 * code is never restarted. Any other failure (a crash code, a signal, an unasked exit 0, silence, a
 * restart that never became ready) is restarted: the first restart of a child within the period at
 * once (OTP), a repeated one after an exponential backoff with jitter: the n-th (n ≥ 2) waits
 * min(backoffMaxMs, backoffBaseMs·backoffFactor^(n-2)), plus uniform [0, backoffJitter) of that, never
 * more than backoffMaxMs. Restart intensity (OTP): at
 * most `restartIntensity` restarts of all children together within `restartPeriodMs`; the failure
 * that would need one more degrades the system. The settings are read at every decision, so a change
 * of the worker settings applies to the next failure.
 */
export class RestartPolicy {
  /** Times and actors of the restarts granted, oldest first (only those within the period are kept). */
  private readonly granted: { readonly actor: string; readonly atMs: number }[] = [];

  constructor(
    /** The settings in force (the worker settings' `supervisor` section, read live). */
    private readonly settingsNow: () => RestartPolicySettings,
    private readonly now: () => number,
    /** Uniform in [0, 1): the jitter's draws (seed it for reproducible delays). */
    private readonly random: () => number,
  ) {}

  /** Decides about `actor`'s failure; a restart decided is counted towards the intensity at once. */
  decide(actor: string, failure: ChildFailure): RestartDecision {
    const what = describeFailure(actor, failure);
    const settings = this.settingsNow();
    if (failure.kind === "exited" && failure.exit.code !== null && isPermanentFailure(failure.exit.code)) {
      return { action: "give-up", reason: `${what}: a permanent failure, not restarted` };
    }
    const nowMs = this.now();
    this.forgetBefore(nowMs - settings.restartPeriodMs);
    if (this.granted.length >= settings.restartIntensity) {
      return {
        action: "degrade",
        reason: `restart intensity exceeded: ${this.granted.length} restarts within ${settings.restartPeriodMs} ms, then ${what}`,
      };
    }
    const earlier = this.granted.filter((g) => g.actor === actor).length;
    this.granted.push({ actor, atMs: nowMs });
    return { action: "restart", delayMs: this.delayMs(settings, earlier), attempt: earlier + 1 };
  }

  /** Restarts granted within the period ending now. */
  restartsInPeriod(): number {
    this.forgetBefore(this.now() - this.settingsNow().restartPeriodMs);
    return this.granted.length;
  }

  private delayMs(settings: RestartPolicySettings, earlierRestarts: number): number {
    if (earlierRestarts === 0) return 0;
    const { backoffBaseMs, backoffMaxMs, backoffFactor, backoffJitter } = settings;
    const backoff = Math.min(backoffMaxMs, backoffBaseMs * backoffFactor ** (earlierRestarts - 1));
    return Math.min(backoffMaxMs, Math.ceil(backoff * (1 + backoffJitter * this.random())));
  }

  private forgetBefore(cutoffMs: number): void {
    for (
      let first = this.granted[0];
      first !== undefined && first.atMs <= cutoffMs;
      first = this.granted[0]
    ) {
      this.granted.shift();
    }
  }
}
