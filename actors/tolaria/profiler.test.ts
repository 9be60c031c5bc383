import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { PHASES, phaseMetricName, StepProfiler, writeEpochTrace } from "./profiler.ts";
import { tolariaRunOptions } from "./run-options.ts";

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("StepProfiler", () => {
  it("totals every phase over the epoch and starts afresh after take", () => {
    const p = new StepProfiler();
    p.record("data", 10, 1.5);
    p.record("forwardBackward", 11.5, 4);
    p.record("data", 20, 0.5);
    const profile = p.take();
    expect(profile.totals).toEqual({
      data: 2,
      forwardBackward: 4,
      aggregation: 0,
      optimizer: 0,
      control: 0,
      checkpoint: 0,
    });
    expect(profile.spans).toHaveLength(3);
    expect(p.take().totals.data).toBe(0);
  });

  it("writes one Chrome trace per epoch under a unique name, spans in microseconds", async () => {
    dir = await mkdtemp(join(tmpdir(), "esper-profile-"));
    const p = new StepProfiler();
    p.record("optimizer", 2.5, 0.25);
    const profile = p.take();
    const meta = { trainingRunId: "run-1", epoch: 3 };
    const a = await writeEpochTrace(join(dir, "traces"), profile, meta);
    const b = await writeEpochTrace(join(dir, "traces"), profile, meta);
    expect(a).not.toBe(b);
    expect((await readdir(join(dir, "traces"))).sort()).toEqual(
      [a, b].map((f) => f.slice(join(dir as string, "traces").length + 1)).sort(),
    );
    expect(a).toMatch(/tolaria-run-1-epoch-3-[0-9a-f]{8}\.json$/);
    const trace = JSON.parse(await readFile(a, "utf8")) as { traceEvents: Record<string, unknown>[] };
    expect(trace.traceEvents.find((e) => e.ph === "X")).toMatchObject({
      name: "optimizer",
      ts: 2500,
      dur: 250,
    });
  });
});

describe("phaseMetricName", () => {
  it("gives telemetry-valid snake-case names", () => {
    expect(phaseMetricName("forwardBackward")).toBe("tolaria.phase.forward_backward_ms");
    for (const p of PHASES) expect(phaseMetricName(p)).toMatch(/^tolaria\.phase\.[a-z0-9_]+$/);
  });
});

describe("tolariaRunOptions", () => {
  it("reads PCGrad and the profile directory, refusing other values naming the variable", () => {
    expect(tolariaRunOptions({})).toEqual({ pcgrad: false });
    expect(tolariaRunOptions({ ESPER_TOLARIA_PCGRAD: "1", ESPER_TOLARIA_PROFILE_DIR: "/tmp/p" })).toEqual({
      pcgrad: true,
      profileDir: "/tmp/p",
    });
    expect(() => tolariaRunOptions({ ESPER_TOLARIA_PCGRAD: "yes" })).toThrow(/ESPER_TOLARIA_PCGRAD/);
    expect(() => tolariaRunOptions({ ESPER_TOLARIA_PROFILE_DIR: " " })).toThrow(/ESPER_TOLARIA_PROFILE_DIR/);
  });
});
