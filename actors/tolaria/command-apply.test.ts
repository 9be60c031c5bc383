import { describe, expect, it } from "vitest";
import { CircuitBreakerState, CommandType, EmergencyLevel } from "../../contracts/enums.ts";
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

function target(): CommandTarget & { lr: number | undefined; breaker: CircuitBreakerState | undefined } {
  const t = {
    levels: new EmergencyLevels(3),
    paused: false,
    bounds: { learningRateMin: 1e-4, learningRateMax: 0.5 },
    lr: undefined as number | undefined,
    breaker: undefined as CircuitBreakerState | undefined,
    setLearningRate(lr: number) {
      t.lr = lr;
    },
    setBreaker(state: CircuitBreakerState) {
      t.breaker = state;
      return `breaker ${state}`;
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

  it("sets the breaker to a commanded state", () => {
    const t = target();
    const breaker = (desiredState: Exclude<CircuitBreakerState, 0>) =>
      cmd({ kind: "circuitBreaker", desiredState, rationale: "operator" });
    expect(applyCommand(breaker(CircuitBreakerState.OPEN), t)).toEqual({
      kind: "applied",
      detail: "breaker 2: operator",
    });
    expect(t.breaker).toBe(CircuitBreakerState.OPEN);
    applyCommand(breaker(CircuitBreakerState.CLOSED), t);
    expect(t.breaker).toBe(CircuitBreakerState.CLOSED);
  });

  it("turns a ROLLBACK into a request for its tier and target; rejects a checkpoint on the fast tier or two targets", () => {
    const rb = (p: Partial<Extract<CommandPayload, { kind: "rollback" }>>) =>
      applyCommand(cmd({ kind: "rollback", mode: "fast", reason: "why", ...p }), target());
    expect(rb({})).toEqual({ kind: "rollback", request: { tier: "fast" }, reason: "why" });
    expect(rb({ mode: "full", toEpoch: 2 })).toEqual({
      kind: "rollback",
      request: { tier: "full", toEpoch: 2 },
      reason: "why",
    });
    expect(rb({ mode: "full", checkpointId: "ckpt-step-00000040" })).toMatchObject({
      request: { tier: "full", checkpointId: "ckpt-step-00000040" },
    });
    expect(rb({ checkpointId: "ckpt-step-00000040" })).toMatchObject({
      kind: "rejected",
      reason: "invalid_rollback",
    });
    expect(rb({ mode: "full", checkpointId: "c", toEpoch: 1 })).toMatchObject({
      kind: "rejected",
      reason: "invalid_rollback",
    });
  });

  it("rejects a structural pruning command as unsupported, naming the type", () => {
    expect(applyCommand(cmd({ kind: "structuralPruning", targetRatio: 0.5 }), target())).toMatchObject({
      kind: "rejected",
      reason: "unsupported_command",
    });
  });
});
