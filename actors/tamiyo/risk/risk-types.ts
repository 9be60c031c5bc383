import type {
  BlueprintDescriptor,
  RiskFinding,
  SeedState,
  SystemStatePacket,
} from "../../../contracts/index.ts";
import type { GerminateAction } from "../policy.ts";

/** What one evaluator does to a command: stop it, make it more cautious, or only record evidence. */
export type RiskEffect = "veto" | "downgrade" | "annotate";

/** One evaluator's finding. A `critical` finding puts the run in conservative mode. */
export interface RiskVerdict extends RiskFinding {
  readonly effect: RiskEffect;
  readonly critical: boolean;
}

/** The previous packet of a run, as the risk engine remembers it (for per-epoch deltas). */
export interface PreviousPacket {
  readonly epoch: number;
  readonly validationLoss: number;
  readonly globalStep: number;
}

/** The risk engine's memory of one run: conservative mode and the packet before the current one. */
export interface RunRiskState {
  /** True while only safe actions pass (see `conservative-mode.ts`). */
  readonly conservative: boolean;
  /** Consecutive packets without a critical finding since conservative mode was entered. */
  readonly calmPackets: number;
  readonly previous: PreviousPacket | undefined;
}

/** The risk state of a run Tamiyo has not seen yet: not conservative, no previous packet. */
export const initialRiskState: RunRiskState = { conservative: false, calmPackets: 0, previous: undefined };

/** A germination after the strict id checks: its seed from the packet, its blueprint from the catalog. */
export interface GerminationCandidate {
  readonly action: GerminateAction;
  readonly seed: SeedState;
  readonly blueprint: BlueprintDescriptor;
  /** Whether the run's job approves the blueprint (`job-approvals.ts`). */
  readonly approved: boolean;
}

/** Everything an evaluator reads for one decision. */
export interface RiskContext {
  readonly packet: SystemStatePacket;
  /** The run's previous packet, when the risk engine saw one. */
  readonly previous: PreviousPacket | undefined;
  /** The germination the policy decided; undefined for a no-op (the evaluators then judge the packet only). */
  readonly germination: GerminationCandidate | undefined;
  /** Time the policy took for this decision, in ms (injected clock). */
  readonly policyLatencyMs: number;
}

/** A small named check: returns its findings (none when it has nothing to say). Pure. */
export interface RiskEvaluator {
  readonly name: string;
  evaluate(ctx: RiskContext): readonly RiskVerdict[];
}

/** A finding of `evaluator`. */
export function verdict(
  evaluator: string,
  effect: RiskEffect,
  reason: string,
  detail: string,
  critical = false,
): RiskVerdict {
  return { evaluator, effect, reason, detail, critical };
}
