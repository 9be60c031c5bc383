import { describe, expect, it } from "vitest";
import { SystemLimits } from "../../contracts/budgets.ts";
import { decode, encode } from "../../contracts/codec.ts";
import type { MessageInput } from "../../contracts/registry.ts";
import { subjects } from "../../contracts/subjects.ts";
import { sampleOf } from "../../contracts/testing/samples.ts";
import { useTestBus } from "../../test/bus-fixture.ts";
import { connectBus } from "../connection.ts";
import { consume } from "./consume.ts";
import { jetStreamManagerOf } from "./context.ts";
import { publishDeadLetter } from "./dead-letter.ts";
import { type ConsumerDeclaration, streamName, streams } from "./declarations.ts";
import { ensureConsumer, ensureResources } from "./ensure.ts";
import { naturalIds } from "./natural-ids.ts";
import { publishToStream } from "./publish.ts";

const tb = useTestBus("idempotency-test", { ensure: true });
const { ns } = tb;

async function storedOn(stream: string, subject: string): Promise<number> {
  const info = await (await jetStreamManagerOf(tb.bus)).streams.info(stream, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

describe("natural message ids", () => {
  it("name a string field of every stream message type, or say why there is none", () => {
    const types = Object.values(subjects)
      .filter((s) => s.transport === "jetstream")
      .map((s) => s.message);
    expect(Object.keys(naturalIds).sort()).toEqual([...new Set(types)].sort());
    for (const [type, field] of Object.entries(naturalIds)) {
      if (field === "fresh" || field === "given") continue;
      const sample = sampleOf(type as keyof typeof naturalIds) as Record<string, unknown>;
      expect(typeof sample[field], `${type}.${field}`).toBe("string");
    }
  });

  it("store a re-published seed report, field report and emergency signal once", async () => {
    const run = { trainingRunId: "r1" };
    const on = { params: { run: "r1" } };
    const report = { ...sampleOf("SeedReport", 1), ...run, reportId: "report-1" };
    const first = await publishToStream(tb.bus, "seedReport", report, on);
    const again = await publishToStream(
      tb.bus,
      "seedReport",
      { ...sampleOf("SeedReport", 2), ...run, reportId: "report-1" },
      on,
    );
    expect(first).toMatchObject({ duplicate: false, messageId: "report-1" });
    expect(again).toMatchObject({ duplicate: true, seq: first.seq });
    expect(await storedOn(streamName(ns, "seeds"), `${ns}.seed.r1.report`)).toBe(1);

    const field = { ...sampleOf("FieldReport", 1), ...run, reportId: "field-1" };
    await publishToStream(tb.bus, "fieldReport", field, on);
    expect((await publishToStream(tb.bus, "fieldReport", field, on)).duplicate).toBe(true);
    expect(await storedOn(streamName(ns, "fieldReports"), `${ns}.fieldreport.r1`)).toBe(1);

    const signal = { ...sampleOf("EmergencySignal", 1), runId: "r1", signalId: "signal-1" };
    await publishToStream(tb.bus, "emergency", signal, on);
    expect((await publishToStream(tb.bus, "emergency", signal, on)).messageId).toBe("signal-1");
    expect(await storedOn(streamName(ns, "emergencySignals"), `${ns}.emergency.r1`)).toBe(1);
  });

  it("store every seed state (a snapshot without an id)", async () => {
    const state = sampleOf("SeedState", 1);
    const on = { params: { run: "r1" } };
    const a = await publishToStream(tb.bus, "seedState", state, on);
    const b = await publishToStream(tb.bus, "seedState", state, on);
    expect(b.duplicate).toBe(false);
    expect(b.messageId).not.toBe(a.messageId);
  });
});

describe("command deduplication window", () => {
  it("covers the longest command freshness window", async () => {
    const command = sampleOf("AdaptationCommand", 1);
    const withWindow = (ms: number): MessageInput<"AdaptationCommand"> => ({
      ...command,
      security: { ...command.security, freshnessWindowMs: ms },
    });
    expect(() => encode("AdaptationCommand", withWindow(SystemLimits.maxCommandFreshnessMs))).not.toThrow();
    expect(() => encode("AdaptationCommand", withWindow(SystemLimits.maxCommandFreshnessMs + 1))).toThrow(
      /freshnessWindowMs/,
    );
    expect(streams.commands.duplicateWindowMs).toBeGreaterThanOrEqual(SystemLimits.maxCommandFreshnessMs);
    const info = await (await jetStreamManagerOf(tb.bus)).streams.info(streamName(ns, "commands"));
    expect(info.config.duplicate_window).toBeGreaterThanOrEqual(SystemLimits.maxCommandFreshnessMs * 1e6);
  });
});

describe("a consumer created anew", () => {
  it("starts its replay window back, not at the start of the stream", async () => {
    const declaration = {
      stream: "commands",
      subject: "command",
      params: { target: "fresh" },
      ackWaitMs: 2_000,
      maxDeliver: 2,
      maxAckPending: 1,
      retryDelayMs: 20,
      replayWindowMs: 300,
    } as const satisfies ConsumerDeclaration;
    const target = { params: { run: "r1", target: "fresh" } };
    await publishToStream(
      tb.bus,
      "command",
      { ...sampleOf("AdaptationCommand", 1), trainingRunId: "r1", commandId: "cmd-old" },
      target,
    );
    await new Promise((r) => setTimeout(r, 800));
    await ensureConsumer(tb.bus, await jetStreamManagerOf(tb.bus), "fresh-start", declaration);
    const seen: string[] = [];
    const c = await consume(tb.bus, { name: "fresh-start", declaration }, (m) => {
      seen.push(m.commandId);
    });
    await publishToStream(
      tb.bus,
      "command",
      { ...sampleOf("AdaptationCommand", 1), trainingRunId: "r1", commandId: "cmd-new" },
      target,
    );
    await expect.poll(() => seen).toEqual(["cmd-new"]);
    await c.stop();
  });
});

describe("dead-letter ids", () => {
  it("stay unique when a stream is recreated and its sequences restart", async () => {
    const other = await connectBus({ ...tb.server.address, name: "recreate", namespace: `${ns}r` });
    await ensureResources(other);
    const letter = {
      streamKey: "fieldReports",
      consumer: "recreate-test",
      subject: `${ns}r.fieldreport`,
      streamSequence: 1,
      deliveries: 1,
      headers: undefined,
      payload: new Uint8Array([1]),
      reason: "test",
    } as const;
    expect(await publishDeadLetter(other, letter)).toBe(true);
    const jsm = await jetStreamManagerOf(other);
    await jsm.streams.delete(streamName(other.namespace, "fieldReports"));
    await new Promise((r) => setTimeout(r, 5));
    await ensureResources(other);
    expect(await publishDeadLetter(other, letter)).toBe(true);
    const dlStream = streamName(other.namespace, "deadLetters");
    const info = await jsm.streams.info(dlStream);
    expect(info.state.messages).toBe(2);
    const ids = new Set<string>();
    for (let seq = 1; seq <= 2; seq++) {
      const m = await jsm.streams.getMessage(dlStream, { seq });
      ids.add(m?.header.get("Nats-Msg-Id") ?? "");
      expect(decode("DeadLetter", m?.data ?? new Uint8Array()).streamSequence).toBe(1);
    }
    expect(ids.size).toBe(2);
    await other.close();
  });
});
