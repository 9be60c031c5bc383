import { createHash } from "node:crypto";
import { BlendMode, BlendScheduleSpec, ConfidenceGate } from "../../contracts/index.ts";
import { TamiyoSettingsError } from "./errors.ts";
import type { PlateauRule } from "./plateau.ts";
import type { BlendSettings, PolicyIdentity } from "./policy.ts";

/** Version name of the transparent rule policy (germinate on plateau). Change it when the rules change. */
export const RULE_SET_VERSION = "tamiyo-rules-v1";

/** The parameters of the rule policy. Every field is required: there are no built-in defaults. */
export interface RuleSet {
  readonly plateau: PlateauRule;
  readonly blend: BlendSettings;
}

/** Checks a rule set; throws TamiyoSettingsError naming the first bad field. Returns it unchanged. */
export function checkRuleSet(rules: RuleSet): RuleSet {
  const { epochs, minRelativeImprovement } = rules.plateau;
  if (!Number.isInteger(epochs) || epochs < 1) {
    throw new TamiyoSettingsError("plateau.epochs", `must be an integer >= 1, got ${epochs}`);
  }
  if (!Number.isFinite(minRelativeImprovement) || minRelativeImprovement < 0 || minRelativeImprovement >= 1) {
    throw new TamiyoSettingsError(
      "plateau.minRelativeImprovement",
      `must be a number in [0, 1), got ${minRelativeImprovement}`,
    );
  }
  const { mode, schedule, confidence } = rules.blend;
  if (mode !== BlendMode.RESIDUAL && mode !== BlendMode.CONVEX && mode !== BlendMode.CONFIDENCE) {
    throw new TamiyoSettingsError(
      "blend.mode",
      `must be RESIDUAL (${BlendMode.RESIDUAL}), CONVEX (${BlendMode.CONVEX}) or CONFIDENCE (${BlendMode.CONFIDENCE}), got ${mode}`,
    );
  }
  const s = BlendScheduleSpec.safeParse(schedule);
  if (!s.success) {
    const issue = s.error.issues[0];
    throw new TamiyoSettingsError(
      `blend.schedule.${issue?.path.join(".") ?? ""}`,
      issue?.message ?? "is invalid",
    );
  }
  if (mode === BlendMode.CONFIDENCE) {
    const c = ConfidenceGate.safeParse(confidence);
    if (!c.success) {
      const issue = c.error.issues[0];
      throw new TamiyoSettingsError(
        `blend.confidence${issue?.path.length ? `.${issue.path.join(".")}` : ""}`,
        `${issue?.message ?? "is invalid"} (required for the CONFIDENCE blend mode)`,
      );
    }
  } else if (confidence !== undefined) {
    throw new TamiyoSettingsError("blend.confidence", "must be absent unless the blend mode is CONFIDENCE");
  }
  return rules;
}

/** The version and digest of a rule set: sha256 (hex) of its canonical JSON with the version name. */
export function ruleSetIdentity(rules: RuleSet): PolicyIdentity {
  const digest = createHash("sha256")
    .update(canonicalJson({ version: RULE_SET_VERSION, rules }))
    .digest("hex");
  return { version: RULE_SET_VERSION, digest };
}

/** JSON with object keys sorted at every level (undefined members omitted), so equal rule sets hash equal. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
