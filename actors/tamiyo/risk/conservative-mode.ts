import type { RiskVerdict, RunRiskState } from "./risk-types.ts";
import { CONSERVATIVE_EXIT_CALM_PACKETS } from "./thresholds.ts";

/** How a packet moved the run's conservative mode. */
export type ConservativeTransition = "entered" | "exited" | undefined;

/**
 * Conservative mode of one run, after a packet's findings. Entry: any critical finding (loss spike,
 * quarantined or critical-risk blueprint, inference over budget); another critical finding while in it
 * restarts the count. Exit ("stabilised"): `CONSERVATIVE_EXIT_CALM_PACKETS` consecutive packets
 * without a critical finding; the packet that completes the count is already judged normally.
 */
export function nextConservativeMode(
  state: RunRiskState,
  verdicts: readonly RiskVerdict[],
): {
  readonly conservative: boolean;
  readonly calmPackets: number;
  readonly transition: ConservativeTransition;
} {
  if (verdicts.some((v) => v.critical)) {
    return { conservative: true, calmPackets: 0, transition: state.conservative ? undefined : "entered" };
  }
  if (!state.conservative) return { conservative: false, calmPackets: 0, transition: undefined };
  const calmPackets = state.calmPackets + 1;
  if (calmPackets >= CONSERVATIVE_EXIT_CALM_PACKETS)
    return { conservative: false, calmPackets: 0, transition: "exited" };
  return { conservative: true, calmPackets, transition: undefined };
}
