import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlendMode, BlendSchedule } from "../../contracts/index.ts";
import { buildFeatures } from "./features.ts";
import {
  createOnnxPolicy,
  decodeAction,
  InferenceFailedError,
  InferenceTimeoutError,
  type PolicyModel,
  type PolicyOutputs,
  UnsupportedActionError,
} from "./onnx-policy.ts";
import type { PolicyAction, PolicyInput } from "./policy.ts";
import { MODEL_FILE } from "./policy-manifest.ts";
import { CLASS_HEADS, type ClassHead } from "./policy-model.ts";
import { loadPolicyDirectory } from "./policy-swap.ts";
import { emptyRunMemory, observePacket, type RunMemory, recordGermination } from "./run-memory.ts";
import { SHIPPED_POLICY_DIR } from "./settings.ts";
import { DORMANT, descriptor, FOSSILIZED, packet, seedState, TRAINING } from "./testing/fixtures.ts";

const plateau = { epochs: 3, minRelativeImprovement: 0.01 };
const schedule = { shape: BlendSchedule.LINEAR, steps: 20, start: 0, end: 1 };
const options = { plateau, schedule };
const catalog = [
  descriptor("low-rank-linear", 8, 4),
  descriptor("residual-mlp", 4, 4),
  descriptor("gated-unit", 8, 8),
  descriptor("wide-single-layer", 8, 32, 1, { quarantineOnly: true }),
];

function inputOf(
  losses: readonly number[],
  seeds = [seedState("a", FOSSILIZED, 0, 8), seedState("b", DORMANT, 1, 8), seedState("c", DORMANT, 2, 4)],
): PolicyInput {
  let memory: RunMemory = emptyRunMemory("run-a");
  let last = packet(0, 1, seeds);
  losses.forEach((loss, epoch) => {
    last = packet(epoch, loss, seeds);
    memory = observePacket(memory, last);
  });
  return { packet: last, catalog, approved: new Set<string>(), memory };
}

/** Outputs with every logit 0 except those given (head → index → value). */
function outputs(hot: Partial<Record<ClassHead, Record<number, number>>>): PolicyOutputs {
  const logits = {} as Record<ClassHead, Float32Array>;
  for (const h of Object.keys(CLASS_HEADS) as ClassHead[]) {
    const v = new Float32Array(CLASS_HEADS[h]);
    for (const [i, x] of Object.entries(hot[h] ?? {})) v[Number(i)] = x;
    logits[h] = v;
  }
  return { logits, value: 0.25, risk: 0.5 };
}

const GERMINATE = 1;

describe("action decoding", () => {
  const features = buildFeatures(inputOf([1, 1, 1, 1]), plateau);

  it("germinates on the most likely DORMANT slot with the most likely usable blueprint of its width", () => {
    // slot 0 (seed a, FOSSILIZED) has the highest logit but is not free; candidate 3 (quarantined) too.
    const a = decodeAction(
      features,
      outputs({ kind: { [GERMINATE]: 5 }, slot: { 0: 9, 1: 3, 2: 1 }, blueprint: { 0: 1, 2: 2, 3: 9 } }),
      options,
      0.1,
    );
    expect(a).toMatchObject({ kind: "germinate", seedId: "b", slotId: "slot-b", slotWidth: 8 });
    expect(features.candidates.map((b) => b.blueprintId)).toContain(a.kind === "germinate" && a.blueprintId);
    expect(a.kind === "germinate" && a.blueprintId).toBe(catalog[2]?.blueprintId);
    expect(a.kind === "germinate" && a.blend.mode).toBe(BlendMode.RESIDUAL);
    expect(a.scores).toMatchObject({ valueEstimate: 0.25, riskEstimate: 0.5, inferenceMs: 0.1 });
    expect(a.scores?.logits.slot).toEqual([9, 3, 1, 0, 0, 0, 0, 0]);
  });

  it("never gives a slot a blueprint of another width", () => {
    const a = decodeAction(
      features,
      outputs({ kind: { [GERMINATE]: 5 }, slot: { 2: 9 }, blueprint: { 0: 9, 1: 1 } }),
      options,
      0,
    );
    expect(a).toMatchObject({ kind: "germinate", seedId: "c", blueprintId: catalog[1]?.blueprintId });
  });

  it("a germination without a free slot is the no-op no_free_slot; a no-op takes the reason head's reason", () => {
    const busy = buildFeatures(inputOf([1, 1, 1, 1], [seedState("a", TRAINING, 0, 8)]), plateau);
    expect(decodeAction(busy, outputs({ kind: { [GERMINATE]: 5 } }), options, 0)).toMatchObject({
      kind: "noop",
      reason: "no_free_slot",
    });
    expect(decodeAction(busy, outputs({ kind: { 0: 5 }, reason: { 1: 3 } }), options, 0)).toMatchObject({
      kind: "noop",
      reason: "seed_in_flight",
    });
  });

  it("refuses an action kind Tamiyo cannot command (never a command it did not decide)", () => {
    expect(() => decodeAction(features, outputs({ kind: { 2: 5 } }), options, 0)).toThrow(
      UnsupportedActionError,
    );
    expect(() => decodeAction(features, outputs({ kind: { 4: 5 } }), options, 0)).toThrow(/'pause'/);
  });
});

/** A model whose session answers with `run`. */
function stubModel(run: () => Promise<never>): PolicyModel {
  return {
    identity: { version: "stub", digest: "0".repeat(64) },
    session: { run } as unknown as ort.InferenceSession,
  };
}

describe("inference deadline", () => {
  it("fails with InferenceTimeoutError when the inference outlasts the deadline", async () => {
    const policy = createOnnxPolicy(
      stubModel(() => new Promise<never>(() => undefined)),
      {
        ...options,
        deadlineMs: 5,
        now: () => 0,
      },
    );
    await expect(Promise.resolve(policy.decide(inputOf([1])))).rejects.toThrow(InferenceTimeoutError);
  });

  it("fails with InferenceFailedError when the runtime throws", async () => {
    const policy = createOnnxPolicy(
      stubModel(() => Promise.reject(new Error("ort exploded"))),
      {
        ...options,
        deadlineMs: 1_000,
        now: () => 0,
      },
    );
    await expect(Promise.resolve(policy.decide(inputOf([1])))).rejects.toThrow(
      /inference failed: ort exploded/,
    );
    await expect(Promise.resolve(policy.decide(inputOf([1])))).rejects.toBeInstanceOf(InferenceFailedError);
  });
});

describe("the shipped policy", () => {
  let model: PolicyModel;
  beforeAll(async () => {
    model = await loadPolicyDirectory(SHIPPED_POLICY_DIR);
  });
  afterAll(async () => {
    await model.session.release();
  });

  async function replay(losses: readonly number[]): Promise<PolicyAction[]> {
    const policy = createOnnxPolicy(model, { ...options, deadlineMs: 1_000, now: () => 0 });
    const seeds = [seedState("s1-g0", DORMANT, 2, 4)];
    const approved = new Set([catalog[1]?.blueprintId ?? ""]);
    let memory = emptyRunMemory("run-a");
    const actions: PolicyAction[] = [];
    for (const [epoch, loss] of losses.entries()) {
      const p = packet(epoch, loss, seeds);
      memory = observePacket(memory, p);
      const action = await policy.decide({ packet: p, catalog, approved, memory });
      actions.push(action);
      if (action.kind === "germinate")
        memory = recordGermination(memory, { epoch, seedId: action.seedId, blueprintId: action.blueprintId });
    }
    return actions;
  }

  it("waits for the plateau, then germinates the free slot; the same packets give the same actions", async () => {
    const losses = [0.66, 0.67, 0.657, 0.659, 0.652];
    const actions = await replay(losses);
    expect(actions.map((a) => (a.kind === "noop" ? a.reason : a.kind))).toEqual([
      "no_plateau",
      "no_plateau",
      "no_plateau",
      "germinate",
      "no_plateau",
    ]);
    expect(actions[0]?.kind === "noop" && actions[0].detail).toMatch(/^0 of 3 epochs/);
    expect(actions[3]).toMatchObject({ seedId: "s1-g0", blueprintId: catalog[1]?.blueprintId });
    expect(await replay(losses)).toEqual(actions);
  });

  it("is refused when its model bytes do not match the manifest's sha256", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tamiyo-policy-"));
    await cp(SHIPPED_POLICY_DIR, dir, { recursive: true });
    const bytes = await readFile(join(dir, MODEL_FILE));
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    await writeFile(join(dir, MODEL_FILE), bytes);
    await expect(loadPolicyDirectory(dir)).rejects.toThrow(/does not match the expected/);
  });
});
