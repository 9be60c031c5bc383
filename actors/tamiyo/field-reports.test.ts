import { appendFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FieldReport, FieldReportOutcome, type SystemStatePacket } from "../../contracts/index.ts";
import { encodeJournalRecord, JournalRecordError } from "./field-report-journal.ts";
import { FieldReports, type FieldReportsOptions } from "./field-reports.ts";
import { packet, seedState, TRAINING } from "./testing/fixtures.ts";
import { frameRecord } from "./wal.ts";

const HOUR = 3_600_000;
let dir: string;
let file: string;
let clock: number;
let stored: FieldReport[];
let failPublish: boolean;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tamiyo-fr-"));
  file = join(dir, "field-reports.wal");
  clock = 1_000_000;
  stored = [];
  failPublish = false;
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const options = (over: Partial<FieldReportsOptions> = {}): FieldReportsOptions => ({
  windowEpochs: 2,
  retention: { maxAgeMs: 24 * HOUR, maxCount: 100 },
  compactEveryRecords: 1_000,
  now: () => clock,
  publish: async (report) => {
    if (failPublish) throw new Error("no stream ack");
    const duplicate = stored.some((r) => r.reportId === report.reportId);
    stored.push(report);
    return { duplicate };
  },
  ...over,
});

const open = async (over: Partial<FieldReportsOptions> = {}) =>
  (await FieldReports.open(file, options(over))).reports;

const at = (run: string, epoch: number, loss: number): SystemStatePacket => ({
  ...packet(epoch, loss, [seedState("s1", TRAINING)]),
  trainingRunId: run,
  packetId: `${run}-${epoch}`,
});

const cmd = (id: string) => ({ commandId: id, seedId: "s1", blueprintId: "bp-1", policyVersion: "v1" });

describe("FieldReports", () => {
  it("a reopened log resumes its open windows with their observations, and the report follows", async () => {
    const first = await open();
    await first.opened(cmd("c1"), at("run-a", 5, 1.0));
    await first.observe(at("run-a", 6, 0.9), 1);
    await first.close();

    const second = await open();
    expect(second.openWindows.map((w) => [w.commandId, w.observations.map((o) => o.epoch)])).toEqual([
      ["c1", [6]],
    ]);
    await second.observe(at("run-a", 7, 0.8), 1);
    expect((await second.publishPending()).published.map((p) => [p.report.reportId, p.duplicate])).toEqual([
      ["fr-c1", false],
    ]);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ outcome: FieldReportOutcome.SUCCESS, delta: { epochs: 2 } });
    await second.close();
  });

  it("only windows of the packet's run see it", async () => {
    const reports = await open();
    await reports.opened(cmd("c1"), at("run-a", 5, 1.0));
    await reports.opened(cmd("c2"), at("run-b", 5, 1.0));
    await reports.observe(at("run-b", 7, 1.2), 1);
    expect(reports.openWindows.map((w) => w.commandId)).toEqual(["c1"]);
    expect(reports.pendingReports.map((r) => [r.reportId, r.outcome])).toEqual([
      ["fr-c2", FieldReportOutcome.REGRESSION],
    ]);
    await reports.close();
  });

  it("a failed publish stays pending across a restart; a published report is never published again", async () => {
    const first = await open();
    await first.opened(cmd("c1"), at("run-a", 5, 1.0));
    failPublish = true;
    await first.observe(at("run-a", 7, 1.0), 1);
    const round = await first.publishPending();
    expect(round.failed.map((f) => f.report.reportId)).toEqual(["fr-c1"]);
    await first.close();

    failPublish = false;
    const second = await open();
    expect(second.pendingReports.map((r) => r.reportId)).toEqual(["fr-c1"]);
    await second.publishPending();
    await second.publishPending();
    await second.close();
    const third = await open();
    await third.publishPending();
    expect(stored.map((r) => r.reportId)).toEqual(["fr-c1"]);
    expect(third.publishedReportIds).toEqual(["fr-c1"]);
    await expect(third.opened(cmd("c1"), at("run-a", 9, 1))).rejects.toThrow(
      /already has a field-report window/,
    );
    await third.close();
  });

  it("an `ended` record of a report already published in the log adds nothing (dedupe by report id)", async () => {
    const first = await open();
    await first.opened(cmd("c1"), at("run-a", 5, 1.0));
    await first.observe(at("run-a", 7, 0.9), 1);
    await first.publishPending();
    await first.close();
    const report = stored[0];
    if (report === undefined) throw new Error("nothing published");
    await appendFile(file, frameRecord(encodeJournalRecord({ kind: "ended", report })));
    const second = await open();
    expect(second.pendingReports).toEqual([]);
    await second.publishPending();
    expect(stored).toHaveLength(1);
    await second.close();
  });

  it("a withdrawn command's window is gone and reports nothing", async () => {
    const reports = await open();
    await reports.opened(cmd("c1"), at("run-a", 5, 1.0));
    await reports.withdrawn("c1", "no stream ack");
    await reports.observe(at("run-a", 9, 0.5), 1);
    await reports.publishPending();
    expect(stored).toEqual([]);
    await expect(reports.withdrawn("c1", "again")).rejects.toThrow(/not open/);
    await reports.close();
  });

  it("retention: compaction forgets published ids by age and count, and aborts windows open too long", async () => {
    const reports = await open({ retention: { maxAgeMs: 10 * HOUR, maxCount: 2 } });
    for (const [i, id] of ["c1", "c2", "c3", "c4"].entries()) {
      clock = 1_000_000 + i * HOUR;
      await reports.opened(cmd(id), at(`run-${id}`, 1, 1));
      await reports.observe(at(`run-${id}`, 3, 0.5), 1);
      await reports.publishPending();
    }
    await reports.opened(cmd("stale"), at("run-stale", 1, 1));
    clock += 11 * HOUR;
    await reports.opened(cmd("fresh"), at("run-fresh", 1, 1));
    await reports.compact();
    expect(reports.publishedReportIds).toEqual([]);
    expect(reports.openWindows.map((w) => w.commandId)).toEqual(["fresh"]);
    expect(reports.pendingReports.map((r) => [r.reportId, r.outcome])).toEqual([
      ["fr-stale", FieldReportOutcome.ABORTED],
    ]);
    await reports.publishPending();
    clock += HOUR;
    await reports.compact();
    expect(reports.publishedReportIds).toEqual(["fr-stale"]);
    await reports.close();

    const byCount = await open({ retention: { maxAgeMs: 100 * HOUR, maxCount: 2 } });
    for (const id of ["d1", "d2", "d3"]) {
      await byCount.opened(cmd(id), at(`run-${id}`, 1, 1));
      await byCount.observe(at(`run-${id}`, 3, 0.5), 1);
      await byCount.publishPending();
    }
    await byCount.compact();
    expect(byCount.publishedReportIds).toEqual(["fr-d2", "fr-d3"]);
    await byCount.close();
  });

  it("a publish round compacts the log after `compactEveryRecords` appends, and what it holds survives", async () => {
    const reports = await open({ compactEveryRecords: 4 });
    await reports.opened(cmd("c1"), at("run-a", 1, 1));
    const grown: number[] = [];
    for (let e = 2; e < 2 + 8; e++) {
      await reports.observe(at("run-a", 2, 1 - e / 100), 1);
      await reports.publishPending();
      grown.push(reports.logBytes);
    }
    const shrank = grown.filter((size, i) => i > 0 && size < (grown[i - 1] as number));
    expect(shrank).toHaveLength(2);
    await reports.close();
    const again = await open();
    expect(again.openWindows[0]?.observations).toHaveLength(1);
    await again.close();
  });

  it("a log record that does not follow from the ones before it is an error naming its index", async () => {
    await (await open()).close();
    const orphan = encodeJournalRecord({
      kind: "observed",
      commandId: "nobody",
      observation: { epoch: 1, loss: 1, accuracy: 0, decisionLatencyMs: 0 },
    });
    await appendFile(file, frameRecord(orphan));
    await expect(open()).rejects.toThrow(JournalRecordError);
    await expect(open()).rejects.toThrow(/record 0: observed record of window nobody, which is not open/);
  });
});
