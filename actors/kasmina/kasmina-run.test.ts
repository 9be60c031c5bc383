import { describe, expect, it } from "vitest";
import { decode, encode } from "../../contracts/codec.ts";
import {
  BlendMode,
  BlendSchedule,
  CommandType,
  SeedLifecycleStage as S,
  SeedOperation,
} from "../../contracts/enums.ts";
import type { AdaptationCommand } from "../../contracts/messages/command.ts";
import type { KasminaState } from "../../contracts/messages/kasmina-state.ts";
import type { SeedDirective, SeedReport } from "../../contracts/messages/seed.ts";
import { sign } from "../../contracts/signing.ts";
import { type SigningKey, signingKey } from "../runtime/command-verifier.ts";
import type { ControllerOutput } from "./controller-effects.ts";
import { InvalidSnapshotError } from "./errors.ts";
import { type CommandOutcome, KasminaRun, type KasminaRunOptions } from "./kasmina-run.ts";
import { descriptorOf } from "./testing/kernel-descriptor.ts";

const RUN = "run-1";
const KEY: SigningKey = signingKey("kasmina-run-test-key");
const NOW = 1_000_000;
const check = { key: KEY, nowMs: NOW, maxClockSkewMs: 5_000 };

function options(appliedWindow = 4): KasminaRunOptions {
  let ids = 0;
  return {
    controller: {
      trainingRunId: RUN,
      slots: [
        { slotId: "a", seedId: "s1", width: 4 },
        { slotId: "b", seedId: "s2", width: 4 },
      ],
      embargoMs: 30_000,
      gates: {
        trainingReports: 2,
        shadowingReports: 2,
        probationReports: 2,
        harmMargin: 0.05,
        harmReports: 3,
        isolationLeakMax: 1e-6,
        seedGradientNormMax: 1_000,
      },
      blendTemperature: 2,
      clock: () => NOW,
      newId: () => `id-${++ids}`,
    },
    ledger: { ttlMs: 300_000, maxEntries: 100 },
    appliedWindow,
  };
}

function signed(
  commandId: string,
  commandType: AdaptationCommand["commandType"],
  payload: AdaptationCommand["payload"],
): AdaptationCommand {
  return sign(
    "AdaptationCommand",
    {
      version: 1,
      commandId,
      commandType,
      trainingRunId: RUN,
      ...(commandType === CommandType.SEED ? { targetSeedId: "s1" } : {}),
      executionDeadlineMs: 5_000,
      issuedBy: "operator",
      payload,
      security: { signature: "", nonce: `n-${commandId}`, issuedAt: NOW, freshnessWindowMs: 60_000 },
    },
    KEY,
  );
}

const germinate = (commandId: string) =>
  signed(commandId, CommandType.SEED, {
    kind: "seed",
    operation: SeedOperation.GERMINATE,
    blueprintId: "bp-mlp",
    blendMode: BlendMode.CONVEX,
    schedule: { shape: BlendSchedule.TANH, steps: 20, start: 0, end: 1 },
    resume: false,
    includeTeacher: false,
    parameters: {},
  });

const reset = (commandId: string) =>
  signed(commandId, CommandType.ROLLBACK, { kind: "rollback", mode: "full", reason: "operator reset" });

function report(n: number, stage: SeedReport["stage"] = S.TRAINING): SeedReport {
  return {
    reportId: `r${n}`,
    trainingRunId: RUN,
    seedId: "s1",
    stage,
    epoch: 1,
    globalStep: n * 10,
    steps: 10,
    alpha: 0,
    loss: 0.9,
    hostLoss: 1,
    lossDelta: -0.1,
    seedGradientNorm: 1,
    hostGradientNorm: 1,
    gradientCosine: 0,
    isolationLeak: 0,
    interfaceGradientNorm: 1,
    gradientShare: 0.5,
    conflicts: 0,
    conflictRatio: 0,
    parameterCount: 100,
    nonFiniteGradients: false,
    issuedAt: NOW,
  };
}

function handled(outcome: CommandOutcome | { kind: string; output?: ControllerOutput }): ControllerOutput {
  if (outcome.kind !== "handled" || !("output" in outcome) || outcome.output === undefined) {
    throw new Error(`expected a handled message, got ${JSON.stringify(outcome)}`);
  }
  return outcome.output;
}

const directives = (out: ControllerOutput): SeedDirective[] =>
  out.effects.flatMap((e) => (e.kind === "directive" ? [e.directive] : []));

/** A run with s1 grafted (TRAINING) and one TRAINING report in its window. */
function grafted(): KasminaRun {
  const run = KasminaRun.fresh(options());
  const out = handled(run.command(germinate("c1"), 1, check));
  const prefetch = out.effects.find((e) => e.kind === "prefetch");
  if (prefetch?.kind !== "prefetch") throw new Error("no prefetch");
  run.controller.prefetchResult(
    {
      status: "ready",
      requestId: prefetch.request.requestId,
      blueprintId: "bp-mlp",
      artifactRef: "c".repeat(64),
      checksum: "c".repeat(64),
      guardDigest: "d".repeat(64),
      prewarmP50Ms: 1,
      prewarmP95Ms: 2,
    },
    descriptorOf("bp-mlp", 4, "c".repeat(64)),
  );
  handled(run.report(report(1), 10));
  return run;
}

/** The state through the codec, as the KV bucket stores and returns it. */
const stored = (run: KasminaRun): KasminaState =>
  decode("KasminaState", encode("KasminaState", run.state(NOW)));

describe("KasminaRun state", () => {
  it("survives encode → decode → restore unchanged and continues exactly as the original", () => {
    const original = grafted();
    const state = stored(original);
    const restored = KasminaRun.restore(options(), state);
    expect(restored.state(NOW)).toEqual(original.state(NOW));
    expect(restored.controller.stageOf("s1")).toBe(S.TRAINING);
    const fromOriginal = handled(original.report(report(2), 11));
    const fromRestored = handled(restored.report(report(2), 11));
    expect(directives(fromRestored)).toEqual(directives(fromOriginal));
    expect(directives(fromRestored)).toMatchObject([{ action: "update", stage: S.BLENDING, sequence: 1 }]);
  });

  it("rejects a replayed command as nonce_replayed from the restored ledger", () => {
    const restored = KasminaRun.restore(options(), stored(grafted()));
    expect(restored.command(germinate("c1"), 2, check)).toMatchObject({
      kind: "refused",
      reason: "nonce_replayed",
    });
  });

  it("recognises a redelivered command or report by its stream sequence and changes nothing", () => {
    const restored = KasminaRun.restore(options(), stored(grafted()));
    const before = restored.state(NOW);
    expect(restored.command(germinate("c1"), 1, check)).toEqual({ kind: "redelivered" });
    expect(restored.report(report(1), 10)).toEqual({ kind: "redelivered" });
    expect(restored.state(NOW)).toEqual(before);
  });

  it("remembers only the latest appliedWindow sequences per consumer", () => {
    const run = KasminaRun.fresh(options(2));
    for (const seq of [5, 6, 7]) run.report(report(seq), seq);
    expect(run.state(NOW).applied).toEqual({ commands: [], reports: [6, 7] });
  });

  it("the administrative reset clears the ledger and the seed registry together, keeping its own nonce", () => {
    const run = grafted();
    const out = handled(run.command(reset("reset-1"), 2, check));
    expect(directives(out)).toMatchObject([{ seedId: "s1", action: "remove", commandId: "reset-1" }]);
    const state = run.state(NOW);
    expect(state.nonces.entries.map((e) => e.nonce)).toEqual(["n-reset-1"]);
    expect(state.slots).toEqual([{ slotId: "a" }, { slotId: "b" }]);
    expect(run.command(reset("reset-1"), 3, check)).toMatchObject({
      kind: "refused",
      reason: "nonce_replayed",
    });
    expect(handled(run.command(germinate("c2"), 4, check)).rejection).toMatchObject({
      reason: "unknown_seed",
    });
  });

  it("a ROLLBACK naming an epoch is not a reset: the controller refuses it", () => {
    const run = grafted();
    const toEpoch = signed("rb-1", CommandType.ROLLBACK, {
      kind: "rollback",
      mode: "full",
      toEpoch: 3,
      reason: "to epoch 3",
    });
    expect(handled(run.command(toEpoch, 2, check)).rejection).toMatchObject({
      reason: "unsupported_command",
    });
    expect(run.controller.stageOf("s1")).toBe(S.TRAINING);
  });
});

describe("a corrupt KasminaState", () => {
  it("fails to decode with an error naming the field", () => {
    const state = grafted().state(NOW);
    const [first, ...rest] = state.seeds;
    if (first === undefined) throw new Error("fixture");
    const bytes = encode("KasminaState", state);
    const broken = { ...state, seeds: [{ ...first, nextSequence: -1 }, ...rest] };
    expect(() => decode("KasminaState", encode("KasminaState", broken))).toThrow(
      /KasminaState: seeds\[0\]\.nextSequence/,
    );
    expect(() => decode("KasminaState", bytes.subarray(0, bytes.length - 3))).toThrow();
  });

  it("that is valid data but an impossible history fails to restore, naming the entry", () => {
    const state = stored(grafted());
    const [slotA, slotB] = state.slots;
    if (slotA?.seed === undefined || slotB === undefined) throw new Error("fixture");
    const skipped = { ...slotA, seed: { ...slotA.seed, history: slotA.seed.history.slice(1) } };
    expect(() => KasminaRun.restore(options(), { ...state, slots: [skipped, slotB] })).toThrow(
      "snapshot slots[0].seed.history[0]: GERMINATED → TRAINING does not follow DORMANT by an allowed transition",
    );
  });

  it("of another run, or with a ledger out of order, fails to restore naming the field", () => {
    const state = stored(grafted());
    expect(() => KasminaRun.restore(options(), { ...state, trainingRunId: "run-2" })).toThrow(
      new InvalidSnapshotError("trainingRunId", "is run-2, this Kasmina runs run-1"),
    );
    const entries = [
      { nonce: "x", expiresAtMs: NOW + 2 },
      { nonce: "y", expiresAtMs: NOW + 1 },
    ];
    expect(() => KasminaRun.restore(options(), { ...state, nonces: { entries, evictions: 0 } })).toThrow(
      "snapshot nonces.entries[1].expiresAtMs",
    );
  });
});
