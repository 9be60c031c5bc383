import { describe, expect, it } from "vitest";
import { SeedLifecycleStage as S } from "../../contracts/enums.ts";
import type { KasminaState } from "../../contracts/messages/kasmina-state.ts";
import type { SeedReport } from "../../contracts/messages/seed.ts";
import type { KasminaRunOptions } from "./kasmina-run.ts";
import { PersistedRun, type StateWriter } from "./persisted-run.ts";

const RUN = "run-1";

const options: KasminaRunOptions = {
  controller: {
    trainingRunId: RUN,
    slots: [{ slotId: "a", seedId: "s1", width: 4 }],
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
    clock: () => 1_000,
    newId: () => "id",
  },
  ledger: { ttlMs: 300_000, maxEntries: 100 },
  appliedWindow: 8,
};

const report = (n: number): SeedReport => ({
  reportId: `r${n}`,
  trainingRunId: RUN,
  seedId: "s1",
  stage: S.TRAINING,
  epoch: 1,
  globalStep: n,
  steps: 1,
  alpha: 0,
  loss: 1,
  hostLoss: 1,
  lossDelta: 0,
  seedGradientNorm: 1,
  hostGradientNorm: 1,
  gradientCosine: 0,
  isolationLeak: 0,
  interfaceGradientNorm: 1,
  gradientShare: 0.5,
  conflicts: 0,
  conflictRatio: 0,
  parameterCount: 1,
  nonFiniteGradients: false,
  issuedAt: 1_000,
});

/** Keeps every stored state; fails the writes it is told to. */
class MemoryWriter implements StateWriter {
  readonly states: KasminaState[] = [];
  failNext = false;
  async save(state: KasminaState): Promise<void> {
    await new Promise((r) => setTimeout(r, 1));
    if (this.failNext) {
      this.failNext = false;
      throw new Error("store unavailable");
    }
    this.states.push(state);
  }
}

describe("PersistedRun", () => {
  it("stores the state after each step, the message's sequence in it", async () => {
    const writer = new MemoryWriter();
    const persisted = new PersistedRun(options, writer, undefined, () => 1_000);
    await persisted.apply(async (run) => void run.report(report(1), 7));
    expect(writer.states.map((s) => s.applied.reports)).toEqual([[7]]);
  });

  it("puts the run back to the last stored state when a step or its write fails", async () => {
    const writer = new MemoryWriter();
    const persisted = new PersistedRun(options, writer, undefined, () => 1_000);
    await persisted.apply(async (run) => void run.report(report(1), 7));
    await expect(
      persisted.apply(async (run) => {
        run.report(report(2), 8);
        throw new Error("directive not stored");
      }),
    ).rejects.toThrow("directive not stored");
    expect(persisted.run.state(1_000).applied.reports).toEqual([7]);
    writer.failNext = true;
    await expect(persisted.apply(async (run) => void run.report(report(2), 8))).rejects.toThrow(
      "store unavailable",
    );
    expect(persisted.run.state(1_000).applied.reports).toEqual([7]);
    await persisted.apply(async (run) => void run.report(report(2), 8));
    expect(persisted.run.report(report(2), 8)).toEqual({ kind: "redelivered" });
  });

  it("runs one step at a time, each stored before the next starts", async () => {
    const writer = new MemoryWriter();
    const persisted = new PersistedRun(options, writer, undefined, () => 1_000);
    const order: string[] = [];
    await Promise.all(
      [1, 2, 3].map((n) =>
        persisted.apply(async (run) => {
          order.push(`start ${n} after ${writer.states.length} writes`);
          await new Promise((r) => setTimeout(r, 5 - n));
          run.report(report(n), n);
        }),
      ),
    );
    expect(order).toEqual(["start 1 after 0 writes", "start 2 after 1 writes", "start 3 after 2 writes"]);
    expect(writer.states.map((s) => s.applied.reports)).toEqual([[1], [1, 2], [1, 2, 3]]);
  });

  it("starts from the stored state it was given", async () => {
    const writer = new MemoryWriter();
    const first = new PersistedRun(options, writer, undefined, () => 1_000);
    await first.apply(async (run) => void run.report(report(1), 7));
    const again = new PersistedRun(options, writer, writer.states.at(-1), () => 1_000);
    expect(again.run.report(report(1), 7)).toEqual({ kind: "redelivered" });
  });
});
