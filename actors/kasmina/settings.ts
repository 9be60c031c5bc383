import type { AdvanceRuleSettings } from "./advance-rules.ts";

/**
 * The advance-rule thresholds of the seed controller. WorkerSettings has no field for them yet, so
 * they are constants here (chosen for the preset jobs; not taken from the reference).
 */
export const ADVANCE_RULES: Omit<AdvanceRuleSettings, "blend"> = {
  trainingReports: 3,
  shadowingReports: 3,
  probationReports: 3,
  harmMargin: 0.05,
  harmReports: 3,
};

/** The tanh temperature of the α schedule (reference 2); WorkerSettings has no field for it yet. */
export const BLEND_TEMPERATURE = 2;
