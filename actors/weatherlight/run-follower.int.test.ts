import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BusConnection } from "../../bus/connection.ts";
import { publishToStream } from "../../bus/jetstream/publish.ts";
import { readRecording } from "../../bus/recording/reader.ts";
import type { RecordSummary } from "../../bus/recording/recorder.ts";
import { publish } from "../../bus/typed.ts";
import { SeedLifecycleStage as S } from "../../contracts/enums.ts";
import type { TelemetryPacket } from "../../contracts/messages/telemetry.ts";
import { subjectFor } from "../../contracts/subjects.ts";
import { useTestBus } from "../../test/bus-fixture.ts";
import { RunDirectory } from "./run-directory.ts";
import type { RunEvent } from "./run-events.ts";
import { followRun, MESSAGE_REFUSED_EVENT } from "./run-follower.ts";
import { summaryEventIds } from "./run-summary.ts";
import { runRecordingFilters } from "./run-traffic.ts";
import type { RunSummary } from "./summary-schema.ts";
import { messagesOf, telemetryPacket } from "./testing/any-run-messages.ts";
import { seedState, statePacket } from "./testing/run-messages.ts";

const A = "run-a";
const B = "run-b";
const t = useTestBus("run-follower-test", { ensure: true });

const transition = (runId: string, from: string, to: string, reason: string) => ({
  event: summaryEventIds.seedTransition,
  attributes: { trainingRunId: runId, seedId: "s1", from, to, reason },
});

/** One run's valid messages; both runs use seed `s1` so that any cross-talk shows in A's seed record. */
async function publishRun(bus: BusConnection, runId: string, accuracy: number, parameterCount: number) {
  const m = messagesOf(runId);
  const run = { run: runId };
  await publishToStream(
    bus,
    "statePacket",
    m.statePacket(0, { validationAccuracy: accuracy, parameterCount }),
    {
      params: run,
    },
  );
  await publishToStream(bus, "command", m.germinate(`${runId}-c1`, "s1"), {
    params: { run: runId, target: "kasmina" },
  });
  await publishToStream(bus, "seedDirective", m.directive(`${runId}-d1`, "s1", S.GERMINATED, `${runId}-c1`), {
    params: run,
  });
  await publishToStream(bus, "seedState", seedState("s1", S.TRAINING, `bp-${runId}`), { params: run });
  await publishToStream(bus, "seedReport", m.seedReport("s1", S.TRAINING, 1), { params: run });
  await publishToStream(
    bus,
    "statePacket",
    m.statePacket(1, {
      validationAccuracy: accuracy + 0.1,
      parameterCount: parameterCount + 30,
      seeds: [seedState("s1", S.TRAINING, `bp-${runId}`)],
    }),
    { params: run },
  );
}

const telemetry: { actor: string; packet: TelemetryPacket }[] = [
  {
    actor: "kasmina",
    packet: telemetryPacket("tp-mixed", "kasmina", [
      transition(A, "DORMANT", "GERMINATED", "germinate run-a-c1"),
      transition(B, "DORMANT", "GERMINATED", "germinate run-b-c1"),
      { metric: "kasmina.seeds.live", value: 1 },
    ]),
  },
  {
    actor: "tamiyo",
    packet: telemetryPacket("tp-b", "tamiyo", [
      transition(B, "GERMINATED", "TRAINING", "b only"),
      { metric: "tamiyo.decision.latency_ms", value: 3, attributes: { trainingRunId: B } },
    ]),
  },
  {
    actor: "tolaria",
    packet: telemetryPacket("tp-a", "tolaria", [
      { metric: "tolaria.epoch.loss", value: 0.5, attributes: { trainingRunId: A, epoch: "1" } },
      { metric: "tolaria.worker.busy", value: 1 },
    ]),
  },
  {
    actor: "urza",
    packet: telemetryPacket("tp-none", "urza", [{ metric: "urza.prefetch.count", value: 2 }]),
  },
];

let root: string;
let summary: RunSummary;
let recording: RecordSummary;
const events: RunEvent[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "esper-run-follower-"));
  const directory = await RunDirectory.create({ root, runId: A });
  const follower = await followRun({
    bus: t.bus,
    runId: A,
    directory,
    startedAtMs: Date.now(),
    onEvent: (e) => events.push(e),
  });
  await publishRun(t.bus, A, 0.3, 100);
  await publishRun(t.bus, B, 0.8, 900);
  for (const { actor, packet } of telemetry) publish(t.bus, "telemetryRaw", packet, { params: { actor } });
  // Refused by its contract: not msgpack at all.
  t.bus.nc.publish(subjectFor(t.ns, "statePacket", { run: A }), new Uint8Array([0xc1]));
  // Refused by the summary (twice, reported once): no parameter count.
  for (const epoch of [5, 6]) {
    const bare = {
      ...statePacket(epoch, {
        validationLoss: 1,
        validationAccuracy: 0,
        parameterCount: undefined,
        runId: A,
      }),
      packetId: `bare-${epoch}`,
    };
    await publishToStream(t.bus, "statePacket", bare, { params: { run: A } });
  }
  // Still followed after the refusals.
  await publishToStream(
    t.bus,
    "statePacket",
    messagesOf(A).statePacket(2, { validationAccuracy: 0.6, parameterCount: 130 }),
    {
      params: { run: A },
    },
  );
  ({ summary, recording } = await follower.finish({
    outcome: "completed",
    reason: "test run",
    endedAtMs: Date.now(),
  }));
  // After finish: neither recorded nor read (waits past the recorder's 100 ms flush interval).
  await publishToStream(
    t.bus,
    "statePacket",
    messagesOf(A).statePacket(3, { validationAccuracy: 0.7, parameterCount: 130 }),
    { params: { run: A } },
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("followRun on a namespace shared by two runs", () => {
  it("writes summary.json with only run A's epochs, commands and seed timeline", async () => {
    const written = JSON.parse(await readFile(join(root, A, "summary.json"), "utf8")) as RunSummary;
    expect(written).toEqual(summary);
    expect(summary.runId).toBe(A);
    expect(summary.epochs.map((e) => [e.epoch, e.validationAccuracy, e.parameterCount])).toEqual([
      [0, 0.3, 100],
      [1, 0.4, 130],
      [2, 0.6, 130],
    ]);
    expect(summary.commands.list.map((c) => [c.commandId, c.status])).toEqual([["run-a-c1", "applied"]]);
    expect(summary.commands.unknownReferenced).toEqual([]);
    expect(summary.seeds).toHaveLength(1);
    const seed = summary.seeds[0];
    expect(seed?.blueprintId).toBe("bp-run-a");
    expect(seed?.timeline.map((c) => [c.from, c.to, c.reason])).toEqual([
      ["DORMANT", "GERMINATED", "germinate run-a-c1"],
    ]);
    expect([seed?.directives, seed?.reports]).toEqual([1, 1]);
  });

  it("emits run A's events, and only A's, through onEvent", () => {
    expect(events.filter((e) => e.kind === "epoch").map((e) => e.epoch)).toEqual([0, 1, 2]);
    expect(events.filter((e) => e.kind !== "epoch").map((e) => e.kind)).toEqual([
      "command_issued",
      "command_applied",
      "seed_stage",
    ]);
  });

  it("appends to telemetry.jsonl the part of each packet that is about run A, and nothing of B", async () => {
    const lines = (await readFile(join(root, A, "telemetry.jsonl"), "utf8")).trimEnd().split("\n");
    const packets = lines.map((l) => JSON.parse(l) as TelemetryPacket);
    expect(packets.map((p) => p.packetId)).toEqual(["tp-mixed", "tp-a"]);
    const items = packets.flatMap((p) => [...p.events, ...p.metrics]);
    expect(items.map((i) => ("eventId" in i ? i.eventId : i.name))).toEqual([
      summaryEventIds.seedTransition,
      "tolaria.epoch.loss",
    ]);
    expect(items.every((i) => i.attributes?.trainingRunId === A)).toBe(true);
    expect(summary.messages.telemetryPackets).toBe(2);
  });

  it("counts a malformed payload and a packet the summary cannot use, reports each kind once, and keeps following", () => {
    expect(summary.messages.rejected).toBe(3);
    expect(summary.messages.statePackets).toBe(3);
    const refused = t.events.filter((e) => e.name === MESSAGE_REFUSED_EVENT);
    expect(refused.map((e) => [e.attributes.messageType, e.attributes.field])).toEqual([
      ["SystemStatePacket", "<root>"],
      ["SystemStatePacket", "trainingMetrics.extra.parameterCount"],
    ]);
  });

  it("records A's run-level frames and none of B's into a recording that reads back whole", async () => {
    const { header, frames } = await readRecording(join(root, A, "bus.esperrec"));
    expect(header.subjects).toEqual(runRecordingFilters(t.ns, A));
    expect(frames).toHaveLength(recording.frames);
    expect(recording.drained).toBe(true);
    expect(recording.bytes).toBe((await stat(join(root, A, "bus.esperrec"))).size);
    const runLevel = (runId: string) =>
      frames.filter(
        (f) =>
          /^[^.]+\.(command|seed|state|fieldreport|emergency)\./.test(f.subject) &&
          f.subject.split(".")[2] === runId,
      );
    expect(runLevel(B)).toEqual([]);
    const count = (subject: string) => runLevel(A).filter((f) => f.subject === subject).length;
    expect(count(subjectFor(t.ns, "statePacket", { run: A }))).toBe(6);
    expect(count(subjectFor(t.ns, "command", { run: A, target: "kasmina" }))).toBe(1);
    expect(count(subjectFor(t.ns, "seedDirective", { run: A }))).toBe(1);
    expect(count(subjectFor(t.ns, "seedState", { run: A }))).toBe(1);
    expect(count(subjectFor(t.ns, "seedReport", { run: A }))).toBe(1);
    expect(runLevel(A)).toHaveLength(10);
    expect(frames.filter((f) => f.subject.startsWith(`${t.ns}.telemetry.raw.`))).toHaveLength(
      telemetry.length,
    );
  });
});

describe("followRun's finish", () => {
  it("writes the summary, then fails naming telemetry.jsonl when a packet could not be appended", async () => {
    const C = "run-c";
    const directory = await RunDirectory.create({ root, runId: C });
    const follower = await followRun({
      bus: t.bus,
      runId: C,
      directory,
      startedAtMs: Date.now(),
      onEvent: () => {},
    });
    await directory.close();
    const packet = telemetryPacket("tp-c", "tolaria", [
      { metric: "tolaria.epoch.loss", value: 1, attributes: { trainingRunId: C } },
    ]);
    publish(t.bus, "telemetryRaw", packet, { params: { actor: "tolaria" } });
    const finished = follower.finish({ outcome: "completed", reason: "test run", endedAtMs: Date.now() });
    await expect(finished).rejects.toThrow(
      /1 telemetry packet\(s\) could not be appended to telemetry\.jsonl: .*closed/,
    );
    const written = JSON.parse(await readFile(join(root, C, "summary.json"), "utf8")) as RunSummary;
    expect(written.messages.telemetryPackets).toBe(1);
  });
});
