import { describe, expect, it } from "vitest";
import { validate } from "../../contracts/codec.ts";
import {
  BlendMode,
  BlendSchedule,
  CommandType,
  SeedLifecycleStage as S,
  SeedOperation,
  TelemetryLevel,
} from "../../contracts/enums.ts";
import type { AdaptationCommand } from "../../contracts/messages/command.ts";
import type { KernelArtifactReady } from "../../contracts/messages/kernel.ts";
import {
  FIRST_DIRECTIVE_SEQUENCE,
  type SeedDirective,
  type SeedReport,
} from "../../contracts/messages/seed.ts";
import type { ControllerOutput } from "./controller-effects.ts";
import { InvalidSnapshotError } from "./errors.ts";
import { SeedController, type SeedControllerOptions } from "./seed-controller.ts";
import { stageName } from "./stages.ts";
import { descriptorOf } from "./testing/kernel-descriptor.ts";

const RUN = "run-1";
const CHECKSUM = "a".repeat(64);
const EMBARGO_MS = 30_000;
const DESCRIPTOR = descriptorOf("bp-mlp", 4, CHECKSUM);

/** A controller over slots a (seed s1) and b (seed s2) with a hand-driven clock and counted ids. */
function setup() {
  const time = { now: 1_000 };
  let ids = 0;
  const options: SeedControllerOptions = {
    trainingRunId: RUN,
    slots: [
      { slotId: "a", seedId: "s1", width: 4 },
      { slotId: "b", seedId: "s2", width: 4 },
    ],
    embargoMs: EMBARGO_MS,
    gates: {
      trainingReports: 2,
      shadowingReports: 2,
      probationReports: 2,
      harmMargin: 0.05,
      harmReports: 1,
      isolationLeakMax: 1e-6,
      seedGradientNormMax: 1_000,
    },
    blendTemperature: 2,
    clock: () => time.now,
    newId: () => `id-${++ids}`,
  };
  return { controller: new SeedController(options), options, time };
}

function seedCommand(
  commandId: string,
  seedId: string,
  operation: Exclude<SeedOperation, typeof SeedOperation.UNKNOWN>,
): AdaptationCommand {
  return {
    version: 1,
    commandId,
    commandType: CommandType.SEED,
    trainingRunId: RUN,
    targetSeedId: seedId,
    executionDeadlineMs: 5_000,
    issuedBy: "tamiyo",
    payload: {
      kind: "seed",
      operation,
      ...(operation === SeedOperation.GERMINATE ? { blueprintId: "bp-mlp" } : {}),
      blendMode: BlendMode.CONVEX,
      alpha: 0,
      schedule: { shape: BlendSchedule.TANH, steps: 20, start: 0, end: 1 },
      resume: false,
      includeTeacher: false,
      parameters: {},
    },
    security: { signature: "", nonce: `n-${commandId}`, issuedAt: 1_000, freshnessWindowMs: 60_000 },
  };
}

const germinate = (commandId: string, seedId = "s1") =>
  seedCommand(commandId, seedId, SeedOperation.GERMINATE);

function ready(requestId: string, blueprintId = "bp-mlp"): KernelArtifactReady {
  return {
    status: "ready",
    requestId,
    blueprintId,
    artifactRef: CHECKSUM,
    checksum: CHECKSUM,
    guardDigest: "b".repeat(64),
    prewarmP50Ms: 1,
    prewarmP95Ms: 2,
  };
}

let reportCount = 0;
/** A report of s1 in `stage` over 10 steps with `loss` against hostLoss 1.0. */
function report(stage: SeedReport["stage"], loss: number, seedId = "s1"): SeedReport {
  reportCount++;
  return {
    reportId: `r${reportCount}`,
    trainingRunId: RUN,
    seedId,
    stage,
    epoch: 1,
    globalStep: reportCount * 10,
    steps: 10,
    alpha: 0,
    loss,
    hostLoss: 1,
    lossDelta: loss - 1,
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
    issuedAt: 2_000,
  };
}

const directives = (out: ControllerOutput): SeedDirective[] =>
  out.effects.flatMap((e) => (e.kind === "directive" ? [e.directive] : []));

function prefetchId(out: ControllerOutput): string {
  const prefetch = out.effects.find((e) => e.kind === "prefetch");
  if (prefetch?.kind !== "prefetch") throw new Error("no prefetch effect");
  return prefetch.request.requestId;
}

/** Drives s1 from GERMINATE to TRAINING; returns the graft directive. */
function grafted(controller: SeedController): SeedDirective {
  const requestId = prefetchId(controller.command(germinate("c1")));
  const [graft] = directives(controller.prefetchResult(ready(requestId), DESCRIPTOR));
  if (graft === undefined) throw new Error("no graft");
  return graft;
}

describe("SeedController", () => {
  it("drives GERMINATE → … → FOSSILIZED on reports with the exact directive sequence", () => {
    const { controller } = setup();
    const germinated = controller.command(germinate("c1"));
    expect(germinated.rejection).toBeUndefined();
    const prefetch = germinated.effects.find((e) => e.kind === "prefetch");
    expect(prefetch).toEqual({
      kind: "prefetch",
      seedId: "s1",
      request: { requestId: "id-1", blueprintId: "bp-mlp", trainingRunId: RUN, issuedAt: 1_000 },
    });
    expect(directives(germinated)).toEqual([]);

    const sent: SeedDirective[] = [...directives(controller.prefetchResult(ready("id-1"), DESCRIPTOR))];
    const feed = (stage: SeedReport["stage"], losses: number[]) => {
      for (const loss of losses) sent.push(...directives(controller.report(report(stage, loss))));
    };
    feed(S.TRAINING, [0.9, 0.8]);
    feed(S.BLENDING, [0.9, 0.9]); // 20 of 20 blending steps
    feed(S.SHADOWING, [0.9, 0.9]);
    feed(S.PROBATIONARY, [0.9, 0.9]);
    feed(S.FOSSILIZED, [0.9]); // after FOSSILIZED nothing is judged

    for (const d of sent) validate("SeedDirective", d);
    expect(sent.map((d) => [d.sequence, d.action, stageName(d.stage), d.alpha, d.directiveId])).toEqual([
      [0, "graft", "TRAINING", 0, `${RUN}.s1.0`],
      [1, "update", "BLENDING", 0, `${RUN}.s1.1`],
      [2, "update", "SHADOWING", 1, `${RUN}.s1.2`],
      [3, "update", "PROBATIONARY", 1, `${RUN}.s1.3`],
      [4, "update", "FOSSILIZED", 1, `${RUN}.s1.4`],
    ]);
    expect(sent[0]?.kernel).toEqual({
      blueprintId: "bp-mlp",
      artifactRef: CHECKSUM,
      checksum: CHECKSUM,
    });
    expect(sent[1]?.schedule).toEqual({ shape: BlendSchedule.TANH, steps: 20, start: 0, end: 1 });
    expect(sent.every((d) => d.commandId === "c1" && d.trainingRunId === RUN && d.slotId === "a")).toBe(true);
    expect(sent.every((d) => d.blendMode === BlendMode.CONVEX)).toBe(true);
    expect(controller.timeline.map((t) => `${stageName(t.from)}→${stageName(t.to)}`)).toEqual([
      "DORMANT→GERMINATED",
      "GERMINATED→TRAINING",
      "TRAINING→BLENDING",
      "BLENDING→SHADOWING",
      "SHADOWING→PROBATIONARY",
      "PROBATIONARY→FOSSILIZED",
    ]);
    expect(controller.timeline[2]?.reason).toMatch(/^G2 stability: /);
    expect(controller.stageOf("s1")).toBe(S.FOSSILIZED);
  });

  it("culls on a prefetch error and sends no graft (no fallback kernel)", () => {
    const { controller } = setup();
    const requestId = prefetchId(controller.command(germinate("c1")));
    const out = controller.prefetchResult(
      {
        status: "error",
        requestId,
        blueprintId: "bp-mlp",
        code: "digest_mismatch",
        reason: "sha256 differs",
      },
      undefined,
    );
    expect(directives(out)).toEqual([]);
    expect(controller.stageOf("s1")).toBe(S.EMBARGOED);
    expect(controller.timeline.slice(-2).map((t) => [stageName(t.to), t.reason])).toEqual([
      ["CULLED", "G0 sanity failed: kernel prefetch failed: digest_mismatch: sha256 differs"],
      ["EMBARGOED", `embargo of ${EMBARGO_MS} ms after cull`],
    ]);
    const culled = out.effects.find((e) => e.kind === "event" && e.name === "kasmina.seed.culled");
    expect(culled).toMatchObject({
      level: TelemetryLevel.WARNING,
      attributes: { seedId: "s1", embargoUntilMs: "31000" },
    });
    // a late ready for the same request changes nothing
    const late = controller.prefetchResult(ready(requestId), DESCRIPTOR);
    expect(directives(late)).toEqual([]);
    expect(late.effects).toMatchObject([{ kind: "event", name: "kasmina.prefetch.unexpected" }]);
  });

  it("culls on a prefetch timeout and on a kernel of another blueprint", () => {
    const { controller } = setup();
    const first = prefetchId(controller.command(germinate("c1")));
    expect(directives(controller.prefetchTimedOut(first))).toEqual([]);
    expect(controller.timeline.at(-2)?.reason).toBe(
      `G0 sanity failed: kernel prefetch timed out (request ${first})`,
    );

    const second = prefetchId(controller.command(germinate("c2", "s2")));
    expect(directives(controller.prefetchResult(ready(second, "bp-other"), DESCRIPTOR))).toEqual([]);
    expect(controller.stageOf("s2")).toBe(S.EMBARGOED);
    expect(controller.timeline.at(-2)?.reason).toBe(
      "G0 sanity failed: kernel for blueprint bp-other arrived, bp-mlp was requested",
    );
  });

  it("culls a seed whose report shows harm, removes it and embargoes its slot", () => {
    const { controller } = setup();
    grafted(controller);
    controller.report(report(S.TRAINING, 0.9));
    controller.report(report(S.TRAINING, 0.9));
    expect(controller.stageOf("s1")).toBe(S.BLENDING);
    const out = controller.report(report(S.BLENDING, 1.2)); // loss 1.2 > hostLoss 1 + 0.05
    const [remove] = directives(out);
    expect(remove).toMatchObject({
      action: "remove",
      stage: S.CULLED,
      sequence: 2,
      alpha: 0,
      commandId: "c1",
    });
    expect(controller.stageOf("s1")).toBe(S.EMBARGOED);
    expect(controller.timeline.at(-2)?.reason).toMatch(
      /^G3 interface failed: 1 consecutive reports exceed hostLoss by more than the margin 0.05 \(report r\d+: loss 1.2 vs hostLoss 1\)$/,
    );
    const failure = out.effects.find((e) => e.kind === "event" && e.name === "kasmina.seed.gate_failure");
    expect(failure).toMatchObject({
      level: TelemetryLevel.WARNING,
      attributes: { seedId: "s1", slotId: "a", gate: "G3", gateName: "interface", blueprintId: "bp-mlp" },
    });
  });

  it("fails G0 with CRITICAL telemetry and no directive for a kernel the slot cannot take", () => {
    const { controller } = setup();
    const wide = descriptorOf("bp-mlp", 8, CHECKSUM);
    const out = controller.prefetchResult(ready(prefetchId(controller.command(germinate("c1")))), wide);
    expect(directives(out)).toEqual([]);
    expect(controller.stageOf("s1")).toBe(S.EMBARGOED);
    expect(
      out.effects.find((e) => e.kind === "event" && e.name === "kasmina.seed.gate_failure"),
    ).toMatchObject({
      level: TelemetryLevel.CRITICAL,
      attributes: { gate: "G0", gateName: "sanity", reason: "kernel maps width 8 → 8, the slot has width 4" },
    });
    const { controller: other } = setup();
    const timeout = other.prefetchTimedOut(prefetchId(other.command(germinate("c1"))));
    expect(directives(timeout)).toEqual([]);
    expect(
      timeout.effects.find((e) => e.kind === "event" && e.name === "kasmina.seed.gate_failure"),
    ).toMatchObject({
      level: TelemetryLevel.CRITICAL,
      attributes: { gate: "G0" },
    });
  });

  it("refuses a GERMINATE whose blend does not fit: confidence without logits, α vector of another width", () => {
    const { controller } = setup();
    const withOp = (commandId: string, over: Record<string, unknown>): AdaptationCommand => {
      const c = germinate(commandId);
      if (c.payload.kind !== "seed") throw new Error("not a seed command");
      return { ...c, payload: { ...c.payload, ...over } };
    };
    const gate = { k: 4, tau: 0.2, alphaLo: 0, alphaHi: 1 };
    expect(
      controller.command(withOp("c1", { blendMode: BlendMode.CONFIDENCE, confidence: gate })).rejection,
    ).toMatchObject({ reason: "confidence_gate_missing_logits" });
    expect(
      controller.command(withOp("c2", { blendMode: BlendMode.CHANNEL, alphaVector: new Float32Array(3) }))
        .rejection,
    ).toMatchObject({ reason: "alpha_vector_length" });
    expect(controller.command(withOp("c3", { blendMode: BlendMode.UNSPECIFIED })).rejection).toMatchObject({
      reason: "unknown_blend_mode",
    });
    expect(controller.stageOf("s1")).toBe(S.DORMANT);
    const logits = new Float32Array([2, 0.5, 0.1]);
    const ok = controller.command(
      withOp("c4", { blendMode: BlendMode.CONFIDENCE, confidence: { ...gate, logits } }),
    );
    expect(ok.rejection).toBeUndefined();
    expect(controller.stageOf("s1")).toBe(S.GERMINATED);
  });

  it("shows each seed for telemetry: stage, α, blend statistics", () => {
    const { controller } = setup();
    grafted(controller);
    controller.report(report(S.TRAINING, 0.9));
    controller.report(report(S.TRAINING, 0.9));
    const [a, b] = controller.seedViews();
    expect(a).toMatchObject({
      seedId: "s1",
      slotId: "a",
      stage: S.BLENDING,
      alpha: 0,
      kernelAttached: true,
      reports: 0,
      blend: { mode: "convex", alphaMean: 0, alphaP95: 0, sparsity: 1 },
    });
    expect(b).toEqual({
      seedId: "s2",
      slotId: "b",
      stage: S.DORMANT,
      alpha: 0,
      kernelAttached: false,
      reports: 0,
    });
  });

  it("retires a culled grafted seed: its slot offers the next generation (seedIdOf), refused under embargo until it ends", () => {
    const { controller, time } = setup();
    grafted(controller);
    const [remove] = directives(controller.command(seedCommand("c2", "s1", SeedOperation.CULL)));
    expect(remove).toMatchObject({ action: "remove", sequence: 1, commandId: "c2" });
    time.now += EMBARGO_MS - 1;
    // s1 was grafted: once culled it retires and slot a offers the next generation, a-g1
    expect(controller.command(germinate("c5")).rejection).toMatchObject({ reason: "unknown_seed" });
    const early = controller.command(germinate("c3", "a-g1"));
    expect(early.rejection).toMatchObject({ commandId: "c3", reason: "slot_embargoed" });
    expect(early.rejection?.detail).toMatch(/slot a is under embargo until 31000 \(1 ms left\)/);
    expect(early.effects).toMatchObject([
      { kind: "event", level: TelemetryLevel.ERROR, name: "kasmina.command.rejected" },
    ]);
    expect(controller.stageOf("s1")).toBe(S.EMBARGOED);

    time.now += 1;
    const later = controller.command(germinate("c4", "a-g1"));
    expect(later.rejection).toBeUndefined();
    expect(controller.timeline.slice(-3).map((t) => `${t.seedId} ${stageName(t.to)}`)).toEqual([
      "s1 RESETTING",
      "s1 DORMANT",
      "a-g1 GERMINATED",
    ]);
    // a new seed id: its directive sequence starts afresh
    const [graft] = directives(controller.prefetchResult(ready(prefetchId(later)), DESCRIPTOR));
    expect(graft).toMatchObject({ action: "graft", seedId: "a-g1", sequence: 0, commandId: "c4" });
  });

  it("rejects an illegal transition with the reason and never clamps it", () => {
    const { controller } = setup();
    grafted(controller);
    controller.report(report(S.TRAINING, 0.9));
    controller.report(report(S.TRAINING, 0.9));
    const before = controller.snapshot();
    const out = controller.command(germinate("c2"));
    expect(out.rejection).toEqual({
      commandId: "c2",
      reason: "illegal_transition",
      detail: "seed s1: illegal lifecycle transition BLENDING → GERMINATED",
    });
    expect(directives(out)).toEqual([]);
    expect(controller.snapshot()).toEqual(before);
    // a CULL of a seed that was never germinated: DORMANT → CULLED is not in the table
    expect(controller.command(seedCommand("c3", "s2", SeedOperation.CULL)).rejection?.detail).toBe(
      "seed s2: illegal lifecycle transition DORMANT → CULLED",
    );
  });

  it("rejects a second GERMINATE while the kernel is in flight, and unknown seeds, runs and operations", () => {
    const { controller } = setup();
    controller.command(germinate("c1"));
    expect(controller.command(germinate("c2")).rejection?.reason).toBe("seed_in_flight");
    expect(controller.command(germinate("c3", "nope")).rejection?.reason).toBe("unknown_seed");
    expect(controller.command({ ...germinate("c4", "s2"), trainingRunId: "run-2" }).rejection?.reason).toBe(
      "wrong_training_run",
    );
    expect(controller.command(seedCommand("c5", "s2", SeedOperation.FINE_TUNE)).rejection?.reason).toBe(
      "unsupported_command",
    );
    const noSchedule = germinate("c6", "s2");
    const { schedule: _, ...payload } = noSchedule.payload as Extract<
      AdaptationCommand["payload"],
      { kind: "seed" }
    >;
    expect(controller.command({ ...noSchedule, payload }).rejection).toMatchObject({
      reason: "missing_field",
      detail: "payload.schedule is required for GERMINATE",
    });
    expect(controller.stageOf("s2")).toBe(S.DORMANT);
  });

  it("keeps directive sequences contiguous per seed id across seeds and slot generations", () => {
    const { controller, time } = setup();
    const all: SeedDirective[] = [];
    const take = (out: ControllerOutput) => all.push(...directives(out));
    take(controller.prefetchResult(ready(prefetchId(controller.command(germinate("c1")))), DESCRIPTOR));
    take(controller.prefetchResult(ready(prefetchId(controller.command(germinate("c2", "s2")))), DESCRIPTOR));
    take(controller.report(report(S.TRAINING, 0.9, "s2")));
    take(controller.report(report(S.TRAINING, 0.9, "s2")));
    take(controller.command(seedCommand("c3", "s1", SeedOperation.CULL)));
    time.now += EMBARGO_MS;
    take(
      controller.prefetchResult(ready(prefetchId(controller.command(germinate("c4", "a-g1")))), DESCRIPTOR),
    );
    for (const seedId of ["s1", "s2", "a-g1"]) {
      const sequences = all.filter((d) => d.seedId === seedId).map((d) => d.sequence);
      expect(sequences).toEqual(sequences.map((_, i) => FIRST_DIRECTIVE_SEQUENCE + i));
    }
    expect(all.filter((d) => d.seedId === "s1").map((d) => d.action)).toEqual(["graft", "remove"]);
    expect(all.filter((d) => d.seedId === "a-g1").map((d) => d.action)).toEqual(["graft"]);
    expect(new Set(all.map((d) => d.directiveId)).size).toBe(all.length);
  });

  it("reports of an earlier stage, another run or an unknown seed are events, not judgements", () => {
    const { controller } = setup();
    grafted(controller);
    expect(controller.report(report(S.BLENDING, 0.5)).effects).toMatchObject([
      { kind: "event", level: TelemetryLevel.INFO, name: "kasmina.report.stale" },
    ]);
    expect(controller.report({ ...report(S.TRAINING, 0.5), trainingRunId: "run-2" }).effects).toMatchObject([
      {
        level: TelemetryLevel.ERROR,
        name: "kasmina.report.rejected",
        attributes: { reason: "wrong_training_run" },
      },
    ]);
    expect(controller.report(report(S.TRAINING, 0.5, "ghost")).effects).toMatchObject([
      { level: TelemetryLevel.ERROR, attributes: { reason: "unknown_seed" } },
    ]);
    expect(controller.stageOf("s1")).toBe(S.TRAINING);
  });

  it("restores a snapshot taken after a slot moved to its next generation", () => {
    const { controller, options } = setup();
    grafted(controller);
    controller.command(seedCommand("c2", "s1", SeedOperation.CULL));
    const restored = SeedController.restore(options, controller.snapshot());
    expect(restored.snapshot()).toEqual(controller.snapshot());
    expect(restored.stageOf("a-g1")).toBe(S.EMBARGOED);
  });

  it("restores from a snapshot and continues exactly as the original", () => {
    const { controller, options } = setup();
    grafted(controller);
    controller.report(report(S.TRAINING, 0.9));
    const snapshot = structuredClone(controller.snapshot());
    const restored = SeedController.restore(options, snapshot);
    expect(restored.snapshot()).toEqual(controller.snapshot());
    const next = report(S.TRAINING, 0.8);
    const fromOriginal = directives(controller.report(next));
    expect(fromOriginal).toHaveLength(1);
    const restoredIds = { ...options, newId: () => fromOriginal[0]?.directiveId ?? "" };
    const again = SeedController.restore(restoredIds, snapshot);
    expect(directives(again.report(next))).toEqual(fromOriginal);
    expect(again.timeline).toEqual(controller.timeline);
  });

  it("refuses a snapshot of another run or with an impossible history", () => {
    const { controller, options } = setup();
    grafted(controller);
    const snapshot = controller.snapshot();
    expect(() => SeedController.restore({ ...options, trainingRunId: "run-2" }, snapshot)).toThrow(
      InvalidSnapshotError,
    );
    const otherHost = {
      ...options,
      slots: [{ slotId: "a", seedId: "s9", width: 4 }, ...options.slots.slice(1)],
    };
    expect(() => SeedController.restore(otherHost, snapshot)).toThrow(
      "snapshot seeds: lay out [a:s1, b:s2], the host has [a:s9, b:s2]",
    );
    const [slotA, slotB] = snapshot.slots;
    if (slotA?.seed === undefined || slotB === undefined) throw new Error("fixture");
    const skipped = { ...slotA, seed: { ...slotA.seed, history: slotA.seed.history.slice(1) } };
    expect(() => SeedController.restore(options, { ...snapshot, slots: [skipped, slotB] })).toThrow(
      "snapshot slots[0].seed.history[0]: GERMINATED → TRAINING does not follow DORMANT by an allowed transition",
    );
  });

  it("an administrative reset culls live seeds, empties their slots and keeps generations and sequences", () => {
    const { controller } = setup();
    grafted(controller);
    controller.command(germinate("c2", "s2"));
    const out = controller.reset("reset-1");
    expect(directives(out).map((d) => [d.seedId, d.action, d.sequence, d.commandId])).toEqual([
      ["s1", "remove", 1, "reset-1"],
    ]);
    expect(out.effects.at(-1)).toMatchObject({
      level: TelemetryLevel.WARNING,
      name: "kasmina.run.reset",
      attributes: { commandId: "reset-1", culled: "2", seeds: "a-g1,s2" },
    });
    expect(controller.stageOf("a-g1")).toBe(S.DORMANT);
    expect(controller.stageOf("s2")).toBe(S.DORMANT);
    expect(controller.snapshot().slots).toEqual([{ slotId: "a" }, { slotId: "b" }]);
    expect(controller.snapshot().seeds.map((r) => [r.seedId, r.nextSequence, r.plan])).toEqual([
      ["a-g1", 0, undefined],
      ["s2", 0, undefined],
    ]);
    const again = controller.prefetchResult(
      ready(prefetchId(controller.command(germinate("c3", "s2")))),
      DESCRIPTOR,
    );
    expect(directives(again).map((d) => [d.seedId, d.action, d.sequence])).toEqual([["s2", "graft", 0]]);
  });

  it("an administrative reset leaves a FOSSILIZED seed in its slot", () => {
    const { controller } = setup();
    grafted(controller);
    for (const stage of [S.TRAINING, S.TRAINING, S.BLENDING, S.BLENDING, S.SHADOWING, S.SHADOWING]) {
      controller.report(report(stage, 0.9));
    }
    controller.report(report(S.PROBATIONARY, 0.9));
    controller.report(report(S.PROBATIONARY, 0.9));
    expect(controller.stageOf("s1")).toBe(S.FOSSILIZED);
    expect(directives(controller.reset("reset-1"))).toEqual([]);
    expect(controller.stageOf("s1")).toBe(S.FOSSILIZED);
  });
});
