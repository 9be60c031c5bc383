import { z } from "zod";
import { id, name, nonNegative, text } from "../primitives.ts";
import { AdaptationCommand } from "./command.ts";

const base = { packetId: id, decisionId: id, trainingRunId: id, policyVersion: name, latencyMs: nonNegative };

/** Tamiyo's reply to a SystemStatePacket: a signed command, or an explicit decision to do nothing. */
export const TamiyoDecision = z.discriminatedUnion("outcome", [
  z.strictObject({ ...base, outcome: z.literal("command"), command: AdaptationCommand }),
  z.strictObject({ ...base, outcome: z.literal("noAction"), reason: text.min(1, "must not be empty") }),
]);
export type TamiyoDecision = z.infer<typeof TamiyoDecision>;
