import type { AdaptationCommand, SystemStatePacket, TamiyoDecision } from "../../contracts/index.ts";
import type { NoopAction, PolicyIdentity, PolicyScores } from "./policy.ts";

/** What every reply to a packet carries besides its outcome. */
export interface ReplyContext {
  readonly packet: SystemStatePacket;
  /** A fresh id for this decision. */
  readonly decisionId: string;
  readonly policy: PolicyIdentity;
  /** Time spent deciding, in ms. */
  readonly latencyMs: number;
}

/** The reply carrying the signed command that was published (with a learned policy's logits and value estimate). */
export function commandReply(
  ctx: ReplyContext,
  command: AdaptationCommand,
  scores?: PolicyScores,
): TamiyoDecision {
  return { ...base(ctx), ...scoresOf(scores), outcome: "command", command };
}

/** The explicit no-op reply: `reason` is `<reason>: <detail>`, e.g. `no_plateau: 1 of 3 epochs ...`. */
export function noActionReply(ctx: ReplyContext, noop: NoopAction, scores?: PolicyScores): TamiyoDecision {
  return { ...base(ctx), ...scoresOf(scores), outcome: "noAction", reason: `${noop.reason}: ${noop.detail}` };
}

function scoresOf(scores: PolicyScores | undefined) {
  return scores === undefined ? {} : { logits: scores.logits, valueEstimate: scores.valueEstimate };
}

function base({ packet, decisionId, policy, latencyMs }: ReplyContext) {
  return {
    packetId: packet.packetId,
    decisionId,
    trainingRunId: packet.trainingRunId,
    policyVersion: policy.version,
    latencyMs,
  };
}
