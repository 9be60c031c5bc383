import { describe, expect, it } from "vitest";
import { CommandType, EmergencyLevel } from "../../contracts/enums.ts";
import type { AdaptationCommand, CommandPayload } from "../../contracts/messages/command.ts";
import { applyCommand, type CommandTarget } from "./command-apply.ts";
import { EmergencyLevels } from "./emergency-levels.ts";

const commandTypes: Record<CommandPayload["kind"], AdaptationCommand["commandType"]> = {
  seed: CommandType.SEED,
  rollback: CommandType.ROLLBACK,
  optimizer: CommandType.OPTIMIZER,
  circuitBreaker: CommandType.CIRCUIT_BREAKER,
  pause: CommandType.PAUSE,
  emergency: CommandType.EMERGENCY,
  structuralPruning: CommandType.STRUCTURAL_PRUNING,
};

function cmd(payload: CommandPayload): AdaptationCommand {
  return {
    version: 1,
    commandId: "c1",
    commandType: commandTypes[payload.kind],
    trainingRunId: "run-1",
    executionDeadlineMs: 1_000,
    issuedBy: "test",
    payload,
    security: { signature: "", nonce: "n1", issuedAt: 0, freshnessWindowMs: 1_000 },
  };
}

function target(): CommandTarget & { lr: number | undefined } {
  const t = {
    levels: new EmergencyLevels(3),
    paused: false,
    bounds: { learningRateMin: 1e-4, learningRateMax: 0.5 },
    lr: undefined as number | undefined,
    setLearningRate(lr: number) {
      t.lr = lr;
    },
  };
  return t;
}

describe("applyCommand", () => {
  it("sets a learning rate within the bounds and rejects one below or above, naming the bound", () => {
    const t = target();
    const lr = (learningRate: number) => cmd({ kind: "optimizer", optimizerId: "host", learningRate });
    expect(applyCommand(lr(0.01), t)).toEqual({ kind: "applied", detail: "learning rate 0.01" });
    expect(t.lr).toBe(0.01);
    expect(applyCommand(lr(1e-5), t)).toEqual({
      kind: "rejected",
      reason: "optimizer_out_of_bounds",
      detail: "payload.learningRate 0.00001 is below tolaria.learningRateMin 0.0001",
    });
    expect(applyCommand(lr(0.6), t)).toMatchObject({
      reason: "optimizer_out_of_bounds",
      detail: "payload.learningRate 0.6 is above tolaria.learningRateMax 0.5",
    });
    expect(t.lr).toBe(0.01);
  });

  it("rejects momentum and weight decay adjustments as unsupported, naming the field", () => {
    const effect = applyCommand(cmd({ kind: "optimizer", optimizerId: "host", momentum: 0.9 }), target());
    expect(effect).toMatchObject({ reason: "unsupported_command" });
    expect(effect.kind === "rejected" && effect.detail).toContain("payload.momentum");
  });

  it("raises the emergency level only upwards; HALT is a halt", () => {
    const t = target();
    const e = (level: Exclude<EmergencyLevel, 0>) => cmd({ kind: "emergency", level, reason: "r" });
    expect(applyCommand(e(EmergencyLevel.CONSERVATIVE), t)).toMatchObject({
      kind: "applied",
      change: { from: EmergencyLevel.NOTICE, to: EmergencyLevel.CONSERVATIVE },
    });
    expect(applyCommand(e(EmergencyLevel.ELEVATED), t)).toEqual({
      kind: "applied",
      detail: `emergency level stays ${EmergencyLevel.CONSERVATIVE}`,
    });
    expect(applyCommand(e(EmergencyLevel.HALT), t)).toMatchObject({
      kind: "halt",
      change: { to: EmergencyLevel.HALT },
    });
  });

  it("pauses and resumes", () => {
    const t = target();
    applyCommand(cmd({ kind: "pause", resume: false, reason: "r" }), t);
    expect(t.paused).toBe(true);
    applyCommand(cmd({ kind: "pause", resume: true, reason: "r" }), t);
    expect(t.paused).toBe(false);
  });

  it("rejects a circuit breaker command as unsupported, naming the type", () => {
    expect(applyCommand(cmd({ kind: "circuitBreaker", desiredState: 2, rationale: "r" }), target())).toEqual({
      kind: "rejected",
      reason: "unsupported_command",
      detail: "a CIRCUIT_BREAKER command is not supported by Tolaria",
    });
  });
});
