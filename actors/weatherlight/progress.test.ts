import { describe, expect, it } from "vitest";
import {
  emptyView,
  nextView,
  type ProgressOutput,
  ProgressWriter,
  progressMode,
  renderChildLine,
  renderJsonLine,
  renderLiveLine,
  renderPlainLine,
} from "./progress.ts";
import { actorEvent, type RunEvent } from "./run-events.ts";

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);

const epoch = (
  n: number,
  seeds: { seedId: string; stage: "DORMANT" | "TRAINING" | "BLENDING" }[] = [],
): RunEvent => ({
  kind: "epoch",
  atMs: T0 + n * 1000,
  epoch: n,
  epochsTotal: 20,
  globalStep: n * 100,
  trainingLoss: 0.51234,
  validationLoss: 0.6,
  validationAccuracy: 0.8123,
  parameterCount: 12_345,
  seeds,
});
const stage: RunEvent = {
  kind: "seed_stage",
  atMs: T0 + 500,
  seedId: "s1",
  from: "TRAINING",
  to: "BLENDING",
  reason: "loss non-increasing over 3 reports",
};

function recorder(isTTY: boolean, columns = 200): ProgressOutput & { text: string } {
  const out = {
    text: "",
    isTTY,
    columns,
    write(s: string) {
      out.text += s;
      return true;
    },
  };
  return out;
}

describe("progress rendering", () => {
  it("the live line shows epoch, losses, accuracy, parameters and the seeds' latest stages", () => {
    let view = nextView(
      emptyView("run-1"),
      epoch(3, [
        { seedId: "s1", stage: "TRAINING" },
        { seedId: "s2", stage: "DORMANT" },
      ]),
    );
    view = nextView(view, stage);
    expect(renderLiveLine(view, 200)).toBe(
      "run run-1 · epoch 3/20 · loss 0.5123 val 0.6000 · acc 81.2% · params 12,345 · seeds s1:BLENDING s2:DORMANT",
    );
  });

  it("the live line before the first epoch says the run is starting", () => {
    expect(renderLiveLine(emptyView("run-1"), 200)).toBe("run run-1 · starting · seeds none");
  });

  it("the live line never wraps: it is cut to the terminal width", () => {
    const line = renderLiveLine(nextView(emptyView("run-1"), epoch(3)), 40);
    expect(line).toHaveLength(39);
    expect(line.endsWith("…")).toBe(true);
  });

  it("plain lines carry the ISO time and what happened", () => {
    expect(renderPlainLine(stage)).toBe(
      "2026-11-30T12:00:00.500Z seed s1 TRAINING → BLENDING: loss non-increasing over 3 reports",
    );
    expect(renderPlainLine(epoch(2, [{ seedId: "s1", stage: "TRAINING" }]))).toBe(
      "2026-11-30T12:00:02.000Z epoch 2/20 loss 0.5123 val_loss 0.6000 acc 81.2% params 12345 seeds s1:TRAINING",
    );
    expect(
      renderPlainLine({ kind: "command_rejected", atMs: T0, commandId: "c1", reason: "nonce_replayed" }),
    ).toBe("2026-11-30T12:00:00.000Z command c1 rejected: nonce_replayed");
    expect(
      renderPlainLine({
        kind: "finished",
        atMs: T0,
        outcome: "completed",
        reason: "20 epochs",
        wallTimeMs: 61_250,
      }),
    ).toBe("2026-11-30T12:00:00.000Z run completed after 61.3 s: 20 epochs");
  });

  it("child output lines carry their actor, stderr marked", () => {
    expect(
      renderChildLine({ type: "output", actor: "urza", stream: "stdout", line: "published 3 blueprints" }),
    ).toBe("[urza] published 3 blueprints");
    expect(renderChildLine({ type: "output", actor: "urza", stream: "stderr", line: "boom" })).toBe(
      "[urza!] boom",
    );
  });

  it("JSON lines are the event itself", () => {
    expect(JSON.parse(renderJsonLine(stage))).toEqual(stage);
  });

  it("actor lifecycle events become run events; output lines do not", () => {
    expect(
      actorEvent(
        { type: "exited", actor: "kasmina", pid: 9, exit: { code: 1, signal: null }, requested: false },
        T0,
      ),
    ).toEqual({
      kind: "actor",
      atMs: T0,
      actor: "kasmina",
      state: "exited",
      detail: "code 1 (not asked to stop)",
    });
    expect(actorEvent({ type: "error", actor: "urza", pid: 9, message: "kill EPERM" }, T0)).toEqual({
      kind: "actor",
      atMs: T0,
      actor: "urza",
      state: "error",
      detail: "kill EPERM",
    });
    expect(actorEvent({ type: "output", actor: "kasmina", stream: "stderr", line: "x" }, T0)).toBeUndefined();
  });
});

describe("ProgressWriter", () => {
  it("picks json when asked, live on a TTY, plain otherwise", () => {
    expect(progressMode(recorder(true), true)).toBe("json");
    expect(progressMode(recorder(true), false)).toBe("live");
    expect(progressMode(recorder(false), false)).toBe("plain");
  });

  it("live: an epoch redraws the one line in place; other events print above it and the line is redrawn", () => {
    const out = recorder(true);
    const w = new ProgressWriter(out, "live", "run-1");
    w.event(epoch(1));
    w.event(epoch(2));
    expect(out.text).not.toContain("\n");
    expect(out.text.split("\r\x1b[2K")).toHaveLength(3);
    w.event(stage);
    w.close();
    const lines = out.text.split("\n");
    expect(lines[0]?.endsWith("seed s1 TRAINING → BLENDING: loss non-increasing over 3 reports")).toBe(true);
    expect(lines[1]).toBe(renderLiveLine(nextView(nextView(emptyView("run-1"), epoch(2)), stage), 200));
    expect(lines[2]).toBe("");
  });

  it("live on a terminal that reports width 0 draws the line at 80 columns", () => {
    const out = recorder(true, 0);
    new ProgressWriter(out, "live", "run-1").event(epoch(1));
    expect(out.text).toBe(`\r\x1b[2K${renderLiveLine(nextView(emptyView("run-1"), epoch(1)), 80)}`);
  });

  it("plain: one line per event, no control characters", () => {
    const out = recorder(false);
    const w = new ProgressWriter(out, "plain", "run-1");
    w.event(epoch(1));
    w.event(stage);
    w.close();
    expect(out.text).toBe(`${renderPlainLine(epoch(1))}\n${renderPlainLine(stage)}\n`);
  });

  it("json: one JSON object per line", () => {
    const out = recorder(true);
    const w = new ProgressWriter(out, "json", "run-1");
    w.event(epoch(1));
    w.event(stage);
    w.close();
    expect(
      out.text
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([epoch(1), stage]);
  });
});
