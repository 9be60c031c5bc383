import { z } from "zod";
import { finite, id, name, nonNegative, text } from "../primitives.ts";
import { AdaptationCommand } from "./command.ts";

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
  logits: headLogits,
  valueEstimate: finite.optional(),
};

/** Tamiyo's reply to a SystemStatePacket: a signed command, or an explicit decision to do nothing. */
export const TamiyoDecision = z.discriminatedUnion("outcome", [
  z.strictObject({ ...base, outcome: z.literal("command"), command: AdaptationCommand }),
  z.strictObject({ ...base, outcome: z.literal("noAction"), reason: text.min(1, "must not be empty") }),
]);
export type TamiyoDecision = z.infer<typeof TamiyoDecision>;
