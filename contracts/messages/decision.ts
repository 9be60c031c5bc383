import { z } from "zod";
import { finite, id, name, nonNegative, text, unit } from "../primitives.ts";
import { AdaptationCommand } from "./command.ts";

/** One finding of a risk evaluator: which evaluator, its reason code and the measured evidence. */
export const RiskFinding = z.strictObject({ evaluator: name, reason: name, detail: text });
export type RiskFinding = z.infer<typeof RiskFinding>;

const findings = z.array(RiskFinding).max(32);

/**
 * The risk engine's assessment of one decision. `vetoes` stopped a command (the reply is then a no-op),
 * `downgrades` made it more cautious, `annotations` record evidence that changed nothing. `conservative`
 * is the run's conservative mode after this packet; `score` in [0, 1] is 1 when anything vetoed.
 */
export const DecisionRisk = z.strictObject({
  score: unit,
  vetoes: findings,
  downgrades: findings,
  annotations: findings,
  conservative: z.boolean(),
});
export type DecisionRisk = z.infer<typeof DecisionRisk>;

/** Time spent in each phase of the decision, in ms: policy, risk engine, id checks with command build and signing. */
export const DecisionLatencies = z.strictObject({
  policyMs: nonNegative,
  riskMs: nonNegative,
  commandMs: nonNegative,
});
export type DecisionLatencies = z.infer<typeof DecisionLatencies>;

/** A learned policy's raw logits per head (kind, slot, blueprint, blend, reason); the rule policy has none. */
const headLogits = z
  .record(name, z.array(finite).max(64))
  .refine((m) => Object.keys(m).length <= 8, "must have at most 8 heads")
  .optional();

const base = {
  packetId: id,
  decisionId: id,
  trainingRunId: id,
  policyVersion: name,
  latencyMs: nonNegative,
  latencies: DecisionLatencies,
  risk: DecisionRisk,
  logits: headLogits,
  valueEstimate: finite.optional(),
};

/** Tamiyo's reply to a SystemStatePacket: a signed command, or an explicit decision to do nothing. */
export const TamiyoDecision = z.discriminatedUnion("outcome", [
  z.strictObject({ ...base, outcome: z.literal("command"), command: AdaptationCommand }),
  z.strictObject({ ...base, outcome: z.literal("noAction"), reason: text.min(1, "must not be empty") }),
]);
export type TamiyoDecision = z.infer<typeof TamiyoDecision>;
