import type {
  AdaptationCommand,
  DecisionLatencies,
  DecisionRisk,
  SystemStatePacket,
  TamiyoDecision,
} from "../../contracts/index.ts";
import type { GerminateAction, NoopAction, PolicyIdentity, PolicyScores } from "./policy.ts";

/** The no-op reason of a germination the risk engine vetoed. */
export const RISK_VETO_REASON = "risk_veto";

/** What every reply to a packet carries besides its outcome. */
export interface ReplyContext {
  readonly packet: SystemStatePacket;
  /** A fresh id for this decision. */
  readonly decisionId: string;
  readonly policy: PolicyIdentity;
  /** Time spent deciding, in ms. */
  readonly latencyMs: number;
  readonly latencies: DecisionLatencies;
  readonly risk: DecisionRisk;
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

/**
 * The no-op reply of a germination the risk engine vetoed: `risk_veto: germinate <blueprint> on
 * <seed> vetoed by <evaluator> (<reason>: <detail>); ...`, one entry per veto of `ctx.risk.vetoes`.
 */
export function vetoedReply(
  ctx: ReplyContext,
  action: GerminateAction,
  scores?: PolicyScores,
): TamiyoDecision {
  if (ctx.risk.vetoes.length === 0)
    throw new Error(`decision ${ctx.decisionId}: a vetoed reply needs at least one veto`);
  const vetoes = ctx.risk.vetoes.map((v) => `${v.evaluator} (${v.reason}: ${v.detail})`).join("; ");
  const reason = `${RISK_VETO_REASON}: germinate ${action.blueprintId} on ${action.seedId} vetoed by ${vetoes}`;
  return { ...base(ctx), ...scoresOf(scores), outcome: "noAction", reason };
}

function base({ packet, decisionId, policy, latencyMs, latencies, risk }: ReplyContext) {
  return {
    packetId: packet.packetId,
    decisionId,
    trainingRunId: packet.trainingRunId,
    policyVersion: policy.version,
    latencyMs,
    latencies,
    risk,
  };
}
