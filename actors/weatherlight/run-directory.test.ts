import { existsSync } from "node:fs";
import { mkdir, mkdtemp, open, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidSummaryError, RunDirectoryError, RunDirectoryNotEmptyError } from "./errors.ts";
import { RunDirectory } from "./run-directory.ts";
import { RunSummaryBuilder } from "./run-summary.ts";
import type { RunSummary } from "./summary-schema.ts";
import { RUN, statePacket, telemetry } from "./testing/run-messages.ts";

const tmpRoot = () => mkdtemp(join(tmpdir(), "wl-rundir-"));

function summary(endedAtMs: number): RunSummary {
  const b = new RunSummaryBuilder(RUN, 1_000);
  b.observe(
    {
      type: "SystemStatePacket",
      message: statePacket(0, { validationLoss: 1, validationAccuracy: 0.4, parameterCount: 99 }),
    },
    1_500,
  );
  return b.finish({ outcome: "completed", reason: "1 epoch", endedAtMs });
}

describe("RunDirectory", () => {
  it("creates <root>/<run id>/ and claims it with telemetry.jsonl", async () => {
    const root = join(await tmpRoot(), "runs");
    const run = await RunDirectory.create({ root, runId: RUN });
    expect(run.paths).toEqual({
      dir: join(root, RUN),
      summary: join(root, RUN, "summary.json"),
      telemetry: join(root, RUN, "telemetry.jsonl"),
      busRecording: join(root, RUN, "bus.esperrec"),
    });
    expect(await readdir(run.paths.dir)).toEqual(["telemetry.jsonl"]);
    await run.close();
  });

  it("takes an existing empty directory given as --run-dir", async () => {
    const dir = join(await tmpRoot(), "mine");
    await mkdir(dir);
    const run = await RunDirectory.create({ dir });
    expect(run.paths.dir).toBe(dir);
    await run.close();
  });

  it("refuses an existing non-empty directory, naming it and leaving its files alone", async () => {
    const dir = await tmpRoot();
    await writeFile(join(dir, "summary.json"), "previous run");
    const failure = await RunDirectory.create({ dir }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RunDirectoryNotEmptyError);
    expect((failure as Error).message).toBe(
      `run directory ${dir} already exists and is not empty (summary.json): pass another --run-dir or remove it`,
    );
    expect(await readdir(dir)).toEqual(["summary.json"]);
    expect(await readFile(join(dir, "summary.json"), "utf8")).toBe("previous run");
  });

  it("a directory claimed by one run is refused to a second", async () => {
    const dir = join(await tmpRoot(), "shared");
    const first = await RunDirectory.create({ dir });
    await expect(RunDirectory.create({ dir })).rejects.toThrow(RunDirectoryNotEmptyError);
    await first.close();
  });

  it("of two runs racing for one empty directory, exactly one gets it", async () => {
    const dir = join(await tmpRoot(), "raced");
    const results = await Promise.allSettled([RunDirectory.create({ dir }), RunDirectory.create({ dir })]);
    const won = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const lost = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
    expect(won).toHaveLength(1);
    expect(lost[0]).toBeInstanceOf(RunDirectoryNotEmptyError);
    await won[0]?.close();
  });

  it("refuses a run id that is not a safe path token and a path that is a file", async () => {
    const root = join(await tmpRoot(), "runs");
    await mkdir(root);
    await expect(RunDirectory.create({ root, runId: "../escape" })).rejects.toThrow(
      /run id '\.\.\/escape' must be 1-128 characters/,
    );
    expect(existsSync(join(root, "..", "escape"))).toBe(false);
    await writeFile(join(root, "plain-file"), "x");
    await expect(RunDirectory.create({ dir: join(root, "plain-file") })).rejects.toThrow(RunDirectoryError);
  });

  it("writes summary.json that reads back whole, replacing an earlier one by rename (never in place)", async () => {
    const run = await RunDirectory.create({ dir: join(await tmpRoot(), "r") });
    await run.writeSummary(summary(2_000));
    const earlier = await open(run.paths.summary, "r");
    await run.writeSummary(summary(3_000));
    // The earlier file's inode still holds the earlier summary: the new one was renamed over it.
    expect(JSON.parse(await earlier.readFile("utf8"))).toEqual(summary(2_000));
    await earlier.close();
    expect(JSON.parse(await readFile(run.paths.summary, "utf8"))).toEqual(summary(3_000));
    expect((await readdir(run.paths.dir)).sort()).toEqual(["summary.json", "telemetry.jsonl"]);
    await run.close();
  });

  it("refuses a summary that breaks the schema, naming the field, and writes nothing", async () => {
    const run = await RunDirectory.create({ dir: join(await tmpRoot(), "r") });
    const bad = { ...summary(2_000), wallTimeMs: 5 };
    const failure = await run.writeSummary(bad).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(InvalidSummaryError);
    expect((failure as Error).message).toContain("wallTimeMs: must equal endedAtMs - startedAtMs");
    expect(await readdir(run.paths.dir)).toEqual(["telemetry.jsonl"]);
    await run.close();
  });

  it("appends telemetry packets as JSON lines in call order; appending after close is an error", async () => {
    const run = await RunDirectory.create({ dir: join(await tmpRoot(), "r") });
    const packets = Array.from({ length: 50 }, (_, i) =>
      telemetry({ eventId: `tolaria.train.step_${i}`, attributes: { i: String(i) } }),
    );
    await Promise.all(packets.map((p) => run.appendTelemetry(p)));
    await run.close();
    const lines = (await readFile(run.paths.telemetry, "utf8")).trimEnd().split("\n");
    expect(lines.map((l) => JSON.parse(l))).toEqual(packets);
    await expect(run.appendTelemetry(packets[0] as (typeof packets)[0])).rejects.toThrow(
      /telemetry.jsonl is closed/,
    );
  });
});
