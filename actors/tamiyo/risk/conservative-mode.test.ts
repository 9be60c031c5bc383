import { describe, expect, it } from "vitest";
import { nextConservativeMode } from "./conservative-mode.ts";
import { initialRiskState, type RiskVerdict, verdict } from "./risk-types.ts";

const critical: RiskVerdict[] = [verdict("loss-spike", "veto", "loss_spike", "rose", true)];
const mild: RiskVerdict[] = [verdict("latency-budget", "veto", "hook_budget", "slow")];

/** Conservative flags and transitions over a sequence of packets' findings. */
function walk(packets: RiskVerdict[][]) {
  let state = initialRiskState;
  return packets.map((verdicts) => {
    const next = nextConservativeMode(state, verdicts);
    state = { ...state, conservative: next.conservative, calmPackets: next.calmPackets };
    return `${next.conservative ? "C" : "-"}${next.transition ?? ""}`;
  });
}

describe("conservative mode", () => {
  it("is entered by a critical finding only", () => {
    expect(walk([mild, [], critical])).toEqual(["-", "-", "Centered"]);
  });

  it("is left after 3 consecutive packets without a critical finding (a non-critical veto is calm)", () => {
    expect(walk([critical, [], mild, [], []])).toEqual(["Centered", "C", "C", "-exited", "-"]);
  });

  it("restarts the count at another critical finding", () => {
    expect(walk([critical, [], [], critical, [], [], []])).toEqual([
      "Centered",
      "C",
      "C",
      "C",
      "C",
      "C",
      "-exited",
    ]);
  });
});
