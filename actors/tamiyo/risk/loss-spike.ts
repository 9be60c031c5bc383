import { figure } from "./figures.ts";
import { type RiskEvaluator, type RiskVerdict, verdict } from "./risk-types.ts";
import { LOSS_SPIKE_DOWNGRADE, LOSS_SPIKE_VETO, LOSS_VOLATILITY_DOWNGRADE } from "./thresholds.ts";

const NAME = "loss-spike";

/**
 * The validation loss over the last epoch (the run's previous packet must be of the epoch before):
 * a rise above `LOSS_SPIKE_VETO` vetoes and is critical (`loss_spike`), above `LOSS_SPIKE_DOWNGRADE`
 * downgrades (`loss_warning`); a training-loss volatility above `LOSS_VOLATILITY_DOWNGRADE`
 * downgrades (`loss_volatility_high`). The first packet of a run, a redelivery or a rollback has no
 * one-epoch delta and is judged on volatility only.
 */
export const lossSpike: RiskEvaluator = {
  name: NAME,
  evaluate({ packet, previous }) {
    const out: RiskVerdict[] = [];
    if (previous !== undefined && previous.epoch === packet.currentEpoch - 1) {
      const delta = packet.validationLoss - previous.validationLoss;
      const detail = `validation loss rose ${figure(delta)} (${figure(previous.validationLoss)} → ${figure(packet.validationLoss)}) in epoch ${packet.currentEpoch}`;
      if (delta > LOSS_SPIKE_VETO)
        out.push(verdict(NAME, "veto", "loss_spike", `${detail}, above ${LOSS_SPIKE_VETO}`, true));
      else if (delta > LOSS_SPIKE_DOWNGRADE)
        out.push(verdict(NAME, "downgrade", "loss_warning", `${detail}, above ${LOSS_SPIKE_DOWNGRADE}`));
    }
    const volatility = packet.trainingMetrics.lossVolatility;
    if (volatility > LOSS_VOLATILITY_DOWNGRADE) {
      out.push(
        verdict(
          NAME,
          "downgrade",
          "loss_volatility_high",
          `training loss volatility ${figure(volatility)} is above ${LOSS_VOLATILITY_DOWNGRADE}`,
        ),
      );
    }
    return out;
  },
};
