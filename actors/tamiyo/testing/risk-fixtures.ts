import {
  BlendMode,
  BlendSchedule,
  type SeedState,
  type SystemStatePacket,
} from "../../../contracts/index.ts";
import type { GerminateAction } from "../policy.ts";
import type { GerminationCandidate, PreviousPacket, RiskContext } from "../risk/risk-types.ts";
import { DORMANT, descriptor, packet, seedState } from "./fixtures.ts";

/** A calm packet of run `run-a`: 40 steps per epoch of 1 ms, no volatility, a hook latency of 1 ms. */
export function calmPacket(
  epoch: number,
  validationLoss: number,
  seeds: readonly SeedState[] = [seedState("seed-a", DORMANT)],
): SystemStatePacket {
  const p = packet(epoch, validationLoss, seeds);
  return {
    ...p,
    globalStep: 40 * (epoch + 1),
    trainingMetrics: {
      ...p.trainingMetrics,
      lossVolatility: 0.01,
      epochDurationMs: 40,
      extra: { hookLatencyMs: 1 },
    },
  };
}

/** The previous-packet memory of `p`. */
export function previousOf(p: SystemStatePacket): PreviousPacket {
  return { epoch: p.currentEpoch, validationLoss: p.validationLoss, globalStep: p.globalStep };
}

/** A germination of a real low-rank-linear blueprint (risk 0.05, SAFE) on DORMANT seed-a, 8 wide. */
export function candidate(overrides: Partial<GerminationCandidate> = {}): GerminationCandidate {
  const blueprint = descriptor("low-rank-linear", 8, 2);
  const action: GerminateAction = {
    kind: "germinate",
    seedId: "seed-a",
    slotId: "slot-seed-a",
    slotWidth: 8,
    blueprintId: blueprint.blueprintId,
    blend: {
      mode: BlendMode.RESIDUAL,
      schedule: { shape: BlendSchedule.LINEAR, steps: 20, start: 0, end: 1 },
    },
    rationale: "test",
  };
  return { action, seed: seedState("seed-a", DORMANT), blueprint, approved: false, ...overrides };
}

/** A risk context on `packet` (default a calm epoch-5 packet after a calm epoch 4), with no germination. */
export function riskContext(overrides: Partial<RiskContext> = {}): RiskContext {
  return {
    packet: calmPacket(5, 0.5),
    previous: previousOf(calmPacket(4, 0.5)),
    germination: undefined,
    policyLatencyMs: 1,
    ...overrides,
  };
}
