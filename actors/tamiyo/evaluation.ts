import type {
  AdaptationCommand,
  BlueprintDescriptor,
  SystemStatePacket,
  TamiyoDecision,
} from "../../contracts/index.ts";
import type { CommandBuilder } from "./command-builder.ts";
import { commandReply, noActionReply } from "./decision-reply.ts";
import { checkGerminationTargets } from "./id-checks.ts";
import type { Policy, PolicyAction } from "./policy.ts";
import { observePacket, type RunMemory, recordGermination } from "./run-memory.ts";

/** What the evaluator is built from: the policy, the command builder, and injected clock and ids. */
export interface EvaluatorOptions {
  readonly policy: Policy;
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
  /** What the policy decided (with a learned policy's scores). */
  readonly action: PolicyAction;
}

/** Evaluates packets: observe → policy → action → (risk, later) → id checks → command build and sign → reply. */
export interface Evaluator {
  /** Pure apart from the injected clock and ids; rejects (never a synthetic command) on missing or unknown input or a failed inference. */
  evaluate(input: EvaluationInput): Promise<Evaluation>;
}

/** Creates the evaluator of Tamiyo's decision pipeline. */
export function createEvaluator({ policy, commands, now, newId }: EvaluatorOptions): Evaluator {
  return {
    async evaluate({ packet, catalog, approved, memory: before }) {
      const started = now();
      const memory = observePacket(before, packet);
      const action = await policy.decide({ packet, catalog, approved, memory });
      const policyLatencyMs = now() - started;
      if (action.kind === "noop") {
        const reply = noActionReply(replyContext(), action, action.scores);
        return { reply, command: undefined, memory, action };
      }
      const checked = checkGerminationTargets(action, packet, catalog);
      const command = commands.germinate(checked, packet, policyLatencyMs);
      const germination = {
        epoch: packet.currentEpoch,
        seedId: action.seedId,
        blueprintId: action.blueprintId,
      };
      return {
        reply: commandReply(replyContext(), command, action.scores),
        command,
        memory: recordGermination(memory, germination),
        action,
      };

      function replyContext() {
        return { packet, decisionId: newId(), policy: policy.identity, latencyMs: now() - started };
      }
    },
  };
}
