/**
 * The risk engine's thresholds: the reference's values (`_apply_risk_engine` of esper-lite), as
 * constants (WorkerSettings has no risk section). The inference budget comes from the worker settings.
 */

/** Validation-loss rise over one epoch that vetoes a command and enters conservative mode (`max_loss_spike`). */
export const LOSS_SPIKE_VETO = 0.15;

/** Validation-loss rise over one epoch that downgrades a germination (half the spike). */
export const LOSS_SPIKE_DOWNGRADE = 0.075;

/** Loss volatility (`trainingMetrics.lossVolatility`) above which a germination is downgraded. */
export const LOSS_VOLATILITY_DOWNGRADE = 0.1125;

/** Mean training-step latency of the epoch above which a command is vetoed, in ms. */
export const STEP_LATENCY_BUDGET_MS = 120;

/** Kasmina hook latency (`trainingMetrics.extra.hookLatencyMs`) above which a command is vetoed, in ms. */
export const HOOK_LATENCY_BUDGET_MS = 50;

/** The `trainingMetrics.extra` key of the hook latency (the contract has no typed field for it). */
export const HOOK_LATENCY_EXTRA = "hookLatencyMs";

/** Catalog risk at or above which a blueprint is vetoed and conservative mode entered. */
export const BLUEPRINT_RISK_VETO = 0.8;

/** Catalog risk at or above which a germination of a blueprint the job did not approve is downgraded. */
export const BLUEPRINT_RISK_DOWNGRADE = 0.5;

/** A seed's `riskScore` at or above which a germination on it is vetoed. */
export const SEED_RISK_VETO = 0.8;

/** A seed's `riskScore` at or above which a germination on it is downgraded. */
export const SEED_RISK_DOWNGRADE = 0.5;

/** Consecutive packets of a run without a critical finding after which conservative mode ends. */
export const CONSERVATIVE_EXIT_CALM_PACKETS = 3;

/** A downgraded germination blends in over this many times the policy's steps (capped by the contract). */
export const DOWNGRADE_BLEND_FACTOR = 2;

/** Most blend steps a schedule may have (BlendScheduleSpec). */
export const MAX_BLEND_STEPS = 1_000_000;
