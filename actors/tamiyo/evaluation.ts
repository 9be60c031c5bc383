import type {
  AdaptationCommand,
  BlueprintDescriptor,
  SystemStatePacket,
  TamiyoDecision,
} from "../../contracts/index.ts";
import { type CommandBuilder, RISK_PASSED_REASON } from "./command-builder.ts";
import { commandReply, noActionReply, type ReplyContext, vetoedReply } from "./decision-reply.ts";
import { checkGerminationTargets } from "./id-checks.ts";
import type { Policy, PolicyAction } from "./policy.ts";
import type { ConservativeTransition } from "./risk/conservative-mode.ts";
import type { RiskEngine } from "./risk/risk-engine.ts";
import { observePacket, type RunMemory, recordGermination } from "./run-memory.ts";

/** What the evaluator is built from: the policy, the risk engine, the command builder, injected clock and ids. */
export interface EvaluatorOptions {
  readonly policy: Policy;
  readonly risk: RiskEngine;
  readonly commands: CommandBuilder;
  /** Monotonic milliseconds, for latencies. */
  readonly now: () => number;
  /** A fresh unique id per call, for decision ids. */
  readonly newId: () => string;
}

/** One packet to decide on, with the run's memory before it. */
export interface EvaluationInput {
  readonly packet: SystemStatePacket;
  readonly catalog: readonly BlueprintDescriptor[];
  /** Blueprint ids the run's job approves (see `PolicyInput.approved`). */
  readonly approved: ReadonlySet<string>;
  readonly memory: RunMemory;
}

/** The outcome of one evaluation. */
export interface Evaluation {
  readonly reply: TamiyoDecision;
  /** The signed command to publish on its target's command stream before replying; undefined for a no-op. */
  readonly command: AdaptationCommand | undefined;
  /** The run's memory after this packet (and the germination, if one was commanded). */
  readonly memory: RunMemory;
  /** Whether this packet moved the run into or out of conservative mode. */
  readonly conservative: ConservativeTransition;
  /** What the policy decided (with a learned policy's scores). */
  readonly action: PolicyAction;
}

/**
 * Evaluates packets: observe → policy → strict id checks → risk engine → command build and sign →
 * reply. The id checks come before the risk engine, which judges the checked seed and blueprint.
 */
export interface Evaluator {
  /** Pure apart from the injected clock and ids; rejects (never a synthetic command) on missing or unknown input or a failed inference. */
  evaluate(input: EvaluationInput): Promise<Evaluation>;
}

/** Creates the evaluator of Tamiyo's decision pipeline. */
export function createEvaluator({ policy, risk, commands, now, newId }: EvaluatorOptions): Evaluator {
  return {
    async evaluate({ packet, catalog, approved, memory: before }) {
      const started = now();
      const observed = observePacket(before, packet);
      const action = await policy.decide({ packet, catalog, approved, memory: observed });
      const policyDone = now();
      const policyMs = policyDone - started;
      const checked =
        action.kind === "germinate" ? checkGerminationTargets(action, packet, catalog) : undefined;
      const assessment = risk.assess({
        packet,
        germination:
          checked === undefined
            ? undefined
            : { ...checked, approved: approved.has(checked.blueprint.blueprintId) },
        policyLatencyMs: policyMs,
        state: before.risk,
      });
      const riskDone = now();
      const memory: RunMemory = { ...observed, risk: assessment.state };
      const base = { memory, conservative: assessment.transition, action };
      const context = (commandMs: number): ReplyContext => ({
        packet,
        decisionId: newId(),
        policy: policy.identity,
        latencyMs: now() - started,
        latencies: { policyMs, riskMs: riskDone - policyDone, commandMs },
        risk: assessment.risk,
      });
      if (action.kind === "noop")
        return { ...base, reply: noActionReply(context(0), action, action.scores), command: undefined };
      const germination = assessment.germination;
      if (checked === undefined || germination === undefined)
        return { ...base, reply: vetoedReply(context(0), action, action.scores), command: undefined };
      const command = commands.germinate({ ...checked, action: germination }, packet, {
        policyLatencyMs: policyMs,
        risk: {
          reason: assessment.risk.downgrades[0]?.reason ?? RISK_PASSED_REASON,
          score: assessment.risk.score,
        },
      });
      const reply = commandReply(context(now() - riskDone), command, action.scores);
      const germinated = {
        epoch: packet.currentEpoch,
        seedId: germination.seedId,
        blueprintId: germination.blueprintId,
      };
      return { ...base, reply, command, memory: recordGermination(memory, germinated) };
    },
  };
}
