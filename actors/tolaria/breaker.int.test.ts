import { describe, expect, it } from "vitest";
import { serve } from "../../bus/typed.ts";
import { CommandType, EmergencyLevel } from "../../contracts/enums.ts";
import type { JobPreset } from "../../nn/presets/job-preset.ts";
import { spiralsGrowthPreset } from "../../nn/presets/spirals-growth.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { until } from "../../test/until.ts";
import { startActor } from "../runtime/actor.ts";
import { ActorExitCode } from "../runtime/exit-codes.ts";
import {
  sendCommand,
  signedCommand,
  storedSignals,
  storedStatePackets,
  tolariaStage,
} from "./actor-fixture.ts";
import { createTolariaActor } from "./main.ts";

const fixture = useNatsServer();

const longJob: JobPreset = { ...spiralsGrowthPreset, name: "spirals-long", epochs: 1_000 };
const presets = { [longJob.name]: longJob };

describe("tolaria's circuit breaker over Tamiyo (real nats-server)", () => {
  it("failing decisions open it (conservative mode: Tamiyo skipped, level CONSERVATIVE); after its timeout a decision closes it; the level stays", async () => {
    const s = await tolariaStage(fixture, longJob.name, {
      timeouts: { decisionDeadlineMs: 500 },
      tolaria: { breaker: { failureThreshold: 2, successThreshold: 1, openTimeoutMs: 500 } },
    });
    // Tamiyo fails the first two evaluations (the threshold), then answers: the next one it sees is the
    // breaker's half-open probe, since an open breaker sends none.
    let evaluations = 0;
    const tamiyo = serve(s.bus, "tamiyoEvaluate", (packet) => {
      evaluations += 1;
      if (evaluations <= 2) throw new Error("tamiyo is down");
      return {
        packetId: packet.packetId,
        decisionId: `d-${packet.packetId}`,
        trainingRunId: packet.trainingRunId,
        policyVersion: "test",
        latencyMs: 0,
        latencies: { policyMs: 0, riskMs: 0, commandMs: 0 },
        risk: { score: 0, vetoes: [], downgrades: [], annotations: [], conservative: false },
        outcome: "noAction" as const,
        reason: "test",
      };
    });
    const changes = () =>
      s.events("tolaria.breaker.state_changed").map((e) => `${e.attributes?.from}→${e.attributes?.to}`);
    const h = startActor(createTolariaActor({ env: s.env, presets }), { env: s.env, handleSignals: false });
    try {
      await until(() => changes().includes("HALF_OPEN→CLOSED"), "the breaker closed again");
      const closedAt = (await storedStatePackets(s)).length;
      await until(async () => (await storedStatePackets(s)).length > closedAt + 1, "an epoch after");
      await sendCommand(
        s,
        signedCommand(s, "halt", CommandType.EMERGENCY, {
          kind: "emergency",
          level: EmergencyLevel.HALT,
          reason: "test",
        }),
      );
      expect(await h.done).toBe(ActorExitCode.ok);

      // Telemetry packets of different levels may arrive out of order: the set, not the order.
      expect(changes().sort()).toEqual(["CLOSED→OPEN", "HALF_OPEN→CLOSED", "OPEN→HALF_OPEN"]);
      expect(s.events("tolaria.decision.skipped").length).toBeGreaterThanOrEqual(1);
      expect(s.events("tolaria.decision.timeout")).toHaveLength(2);
      expect(s.events("tolaria.conservative_mode.entered")).toHaveLength(1);
      expect(s.events("tolaria.conservative_mode.cleared")).toHaveLength(1);
      const signals = await storedSignals(s);
      expect(signals.map((x) => [x.level, x.attributes.mode])).toEqual([
        [EmergencyLevel.CONSERVATIVE, "automatic"],
        [EmergencyLevel.HALT, "command"],
      ]);
      expect(signals[0]?.reason).toMatch(/^breaker_open: /);
      const packets = await storedStatePackets(s);
      const last = packets.at(-1);
      // The breaker closed; the level raised by its opening is not lowered.
      expect(last?.trainingMetrics.extra).toMatchObject({
        conservativeMode: 0,
        breakerState: 1,
        emergencyLevel: 3,
      });
      expect(packets.some((p) => p.trainingMetrics.extra.conservativeMode === 1)).toBe(true);
    } finally {
      await tamiyo.stop();
      await s.close();
    }
  }, 60_000);
});
