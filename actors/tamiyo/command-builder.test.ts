import { describe, expect, it } from "vitest";
import {
  BlendMode,
  BlendSchedule,
  CommandType,
  checkSignature,
  decode,
  encode,
  SeedOperation,
} from "../../contracts/index.ts";
import { type CommandBuilderOptions, createCommandBuilder } from "./command-builder.ts";
import { checkGerminationTargets } from "./id-checks.ts";
import type { GerminateAction } from "./policy.ts";
import { DORMANT, descriptor, packet, seedState } from "./testing/fixtures.ts";

const KEY = "tamiyo-test-key";
const bp = descriptor("low-rank-linear", 8, 2);
const pkt = packet(5, 0.7, [seedState("seed-a", DORMANT)]);
const policy = { version: "tamiyo-rules-v1", digest: "ab".repeat(32) };
const action: GerminateAction = {
  kind: "germinate",
  seedId: "seed-a",
  slotId: "slot-seed-a",
  slotWidth: 8,
  blueprintId: bp.blueprintId,
  blend: {
    mode: BlendMode.CONVEX,
    schedule: { shape: BlendSchedule.COSINE, steps: 40, start: 0.1, end: 0.9 },
  },
  rationale: "test",
};

function options(overrides: Partial<CommandBuilderOptions> = {}): CommandBuilderOptions {
  let n = 0;
  let t = 1_800_000_000_000;
  return {
    signingKey: KEY,
    freshnessWindowMs: 30_000,
    executionDeadlineMs: 500,
    policy,
    now: () => t++,
    newId: () => `id-${++n}`,
    ...overrides,
  };
}

const checked = checkGerminationTargets(action, pkt, [bp]);
/** The risk engine's outcome for a command: its first downgrade reason and its score. */
const assessed = (policyLatencyMs: number) => ({
  policyLatencyMs,
  risk: { reason: "blueprint_risk", score: 0.5 },
});

describe("command builder", () => {
  it("builds a signed SEED/GERMINATE command that verifies under the key and survives the codec", () => {
    const cmd = createCommandBuilder(options()).germinate(checked, pkt, assessed(1.5));
    expect(checkSignature("AdaptationCommand", cmd, KEY)).toBe("ok");
    expect(checkSignature("AdaptationCommand", cmd, "another-key")).toBe("invalid_signature");
    expect(decode("AdaptationCommand", encode("AdaptationCommand", cmd))).toEqual(cmd);
  });

  it("fills the command from the packet, the action, the blueprint and the risk assessment", () => {
    const cmd = createCommandBuilder(options()).germinate(checked, pkt, assessed(1.5));
    expect(cmd).toMatchObject({
      commandType: CommandType.SEED,
      trainingRunId: "run-a",
      targetSeedId: "seed-a",
      executionDeadlineMs: 500,
      issuedBy: "tamiyo",
      payload: {
        kind: "seed",
        operation: SeedOperation.GERMINATE,
        blueprintId: bp.blueprintId,
        blendMode: BlendMode.CONVEX,
        alpha: 0.1,
        schedule: action.blend.schedule,
        resume: false,
        includeTeacher: false,
        parameters: {},
      },
    });
    expect(cmd.payload).not.toHaveProperty("confidence");
    expect(cmd.decision).toEqual({
      policy: { ...policy, action: "germinate", latencyMs: 1.5 },
      risk: { reason: "blueprint_risk", score: 0.5 },
      blend: { methodIndex: BlendSchedule.COSINE, scheduleStart: 0.1, scheduleEnd: 0.9 },
      coverage: { featureCoverage: 1, byType: {} },
    });
  });

  it("takes a fresh command id, nonce and issuedAt from the injected generators for every command", () => {
    const builder = createCommandBuilder(options());
    const first = builder.germinate(checked, pkt, assessed(1));
    const second = builder.germinate(checked, pkt, assessed(1));
    expect([first.commandId, first.security.nonce, second.commandId, second.security.nonce]).toEqual([
      "id-1",
      "id-2",
      "id-3",
      "id-4",
    ]);
    expect(first.security.issuedAt).toBe(1_800_000_000_000);
    expect(second.security.issuedAt).toBe(1_800_000_000_001);
    expect(first.security.freshnessWindowMs).toBe(30_000);
    expect(second.security.signature).not.toBe(first.security.signature);
  });

  it("carries the confidence gate of a CONFIDENCE blend", () => {
    const confidence = { k: 4, tau: 0.2, alphaLo: 0, alphaHi: 1 };
    const gated = { ...action, blend: { ...action.blend, mode: BlendMode.CONFIDENCE, confidence } } as const;
    const cmd = createCommandBuilder(options()).germinate(
      checkGerminationTargets(gated, pkt, [bp]),
      pkt,
      assessed(1),
    );
    expect(cmd.payload).toMatchObject({ blendMode: BlendMode.CONFIDENCE, confidence });
    expect(checkSignature("AdaptationCommand", cmd, KEY)).toBe("ok");
  });

  it("refuses to construct without a signing key", () => {
    expect(() => createCommandBuilder(options({ signingKey: undefined }))).toThrow(
      /signingKey .*ESPER_SIGNING_KEY/,
    );
    expect(() => createCommandBuilder(options({ signingKey: "" }))).toThrow(/signingKey/);
  });

  it("refuses a freshness window or deadline out of range, naming the field", () => {
    expect(() => createCommandBuilder(options({ freshnessWindowMs: 0 }))).toThrow(/freshnessWindowMs/);
    expect(() => createCommandBuilder(options({ freshnessWindowMs: 3_600_001 }))).toThrow(
      /freshnessWindowMs/,
    );
    expect(() => createCommandBuilder(options({ executionDeadlineMs: -1 }))).toThrow(/executionDeadlineMs/);
    expect(() => createCommandBuilder(options({ executionDeadlineMs: 1.5 }))).toThrow(/executionDeadlineMs/);
  });

  it("an id generator returning an empty id fails the contract instead of signing", () => {
    const cmd = () => createCommandBuilder(options({ newId: () => "" })).germinate(checked, pkt, assessed(1));
    expect(cmd).toThrow(/commandId/);
  });
});
