import type { JsMsg } from "@nats-io/jetstream";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { jetStreamManagerOf, jetStreamOf } from "../../bus/jetstream/context.ts";
import { type StreamKey, streamName } from "../../bus/jetstream/declarations.ts";
import { ensureResources } from "../../bus/jetstream/ensure.ts";
import { publish } from "../../bus/typed.ts";
import { decode } from "../../contracts/codec.ts";
import { MessagePriority, TelemetryLevel } from "../../contracts/enums.ts";
import { HeaderNames } from "../../contracts/headers.ts";
import type { TelemetryPacket } from "../../contracts/messages/telemetry.ts";
import type { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import { encodeMsgpack } from "../../contracts/msgpack-encode.ts";
import { subjectFor } from "../../contracts/subjects.ts";
import { useTestBus } from "../../test/bus-fixture.ts";
import type { EventOptions } from "../runtime/telemetry.ts";
import {
  startTelemetryRouter,
  type TelemetryRouter,
  type TelemetryRouterOptions,
} from "./telemetry-router.ts";

const t = useTestBus("telemetry-router-test", { ensure: true });

let batch = 0;
let router: TelemetryRouter | undefined;
let events: { eventId: string; opts: EventOptions }[] = [];
let now = 0;
let emergency: WorkerSettings["emergency"] = { tokenBucketCapacity: 100, tokenRefillPerMinute: 1 };

function packet(i: number, priority: TelemetryPacket["priority"], source = "tolaria"): TelemetryPacket {
  return {
    packetId: `b${batch}-p${i}`,
    timestampMs: 1_000 + i,
    sourceSubsystem: source,
    level: priority === MessagePriority.CRITICAL ? TelemetryLevel.CRITICAL : TelemetryLevel.INFO,
    priority,
    metrics: [{ name: `${source}.test.value`, value: i }],
    events: [],
    spans: [],
  };
}

function send(packets: readonly TelemetryPacket[]): void {
  for (const p of packets) publish(t.bus, "telemetryRaw", p, { params: { actor: p.sourceSubsystem } });
}

function start(overrides: Partial<TelemetryRouterOptions> = {}): TelemetryRouter {
  router = startTelemetryRouter({
    bus: t.bus,
    emergency: () => emergency,
    events: { event: (eventId, opts) => events.push({ eventId, opts }) },
    now: () => now,
    ...overrides,
  });
  return router;
}

async function storedCount(key: StreamKey): Promise<number> {
  const jsm = await jetStreamManagerOf(t.bus);
  return (await jsm.streams.info(streamName(t.ns, key))).state.messages;
}

/** Every message of stream `key`, read through an ephemeral ordered consumer. */
async function storedMessages(key: StreamKey): Promise<{ packet: TelemetryPacket; throttled: string }[]> {
  const expected = await storedCount(key);
  const consumer = await jetStreamOf(t.bus).consumers.get(streamName(t.ns, key));
  const out: { packet: TelemetryPacket; throttled: string }[] = [];
  const iter = await consumer.consume({ max_messages: 256 });
  for await (const m of iter as AsyncIterable<JsMsg>) {
    out.push({
      packet: decode("TelemetryPacket", m.data),
      throttled: m.headers?.get(HeaderNames.throttled) ?? "",
    });
    if (out.length >= expected) break;
  }
  await iter.close();
  return out;
}

async function routed(r: TelemetryRouter, count: number): Promise<void> {
  await vi.waitFor(
    () => {
      const s = r.stats();
      expect(s.stored.normal + s.stored.emergency + s.publishFailures + s.dropped + s.discarded).toBe(count);
    },
    { timeout: 15_000, interval: 20 },
  );
}

beforeEach(async () => {
  batch++;
  events = [];
  now = 0;
  emergency = { tokenBucketCapacity: 100, tokenRefillPerMinute: 1 };
  const jsm = await jetStreamManagerOf(t.bus);
  await jsm.streams.purge(streamName(t.ns, "telemetryNormal"));
  await jsm.streams.purge(streamName(t.ns, "telemetryEmergency"));
});

afterEach(async () => {
  await router?.stop(2_000);
  router = undefined;
});

describe("telemetry router", () => {
  it("a burst of 1,000 CRITICAL packets with a bucket of 100: 100 on emergency, 900 throttled on normal", async () => {
    const r = start();
    send(Array.from({ length: 1_000 }, (_, i) => packet(i, MessagePriority.CRITICAL)));
    await routed(r, 1_000);

    expect(await storedCount("telemetryEmergency")).toBe(100);
    expect(await storedCount("telemetryNormal")).toBe(900);
    const normal = await storedMessages("telemetryNormal");
    expect(normal.filter((m) => m.throttled === "true")).toHaveLength(900);
    const emergencyStored = await storedMessages("telemetryEmergency");
    expect(emergencyStored.filter((m) => m.throttled !== "")).toHaveLength(0);
    const ids = new Set([...normal, ...emergencyStored].map((m) => m.packet.packetId));
    expect(ids.size).toBe(1_000);

    const s = r.stats();
    expect(s).toMatchObject({
      received: 1_000,
      stored: { emergency: 100, normal: 900 },
      throttled: 900,
      byPriority: { CRITICAL: 1_000 },
      bySource: { tolaria: { received: 1_000, throttled: 900 } },
      publishFailures: 0,
      dropped: 0,
      duplicates: 0,
      queueDepth: 0,
      inFlight: 0,
    });
    expect(s.emergencyTokens).toBe(0);
    expect(events.filter((e) => e.eventId === "weatherlight.telemetry.throttled")).toHaveLength(1);
  });

  it("routes every non-CRITICAL priority to the normal stream, unmarked, without spending tokens", async () => {
    const r = start();
    const priorities = [MessagePriority.LOW, MessagePriority.NORMAL, MessagePriority.HIGH];
    send(priorities.flatMap((p, j) => Array.from({ length: 5 }, (_, i) => packet(j * 5 + i, p, "kasmina"))));
    await routed(r, 15);

    expect(await storedCount("telemetryNormal")).toBe(15);
    expect(await storedCount("telemetryEmergency")).toBe(0);
    expect((await storedMessages("telemetryNormal")).every((m) => m.throttled === "")).toBe(true);
    expect(r.stats()).toMatchObject({
      throttled: 0,
      byPriority: { LOW: 5, NORMAL: 5, HIGH: 5 },
      bySource: { kasmina: { received: 15, throttled: 0 } },
      emergencyTokens: 100,
    });
  });

  it("lets more CRITICAL packets through after a refill, and follows a settings change live", async () => {
    emergency = { tokenBucketCapacity: 5, tokenRefillPerMinute: 60 };
    const r = start();
    send(Array.from({ length: 10 }, (_, i) => packet(i, MessagePriority.CRITICAL)));
    await routed(r, 10);
    expect(r.stats()).toMatchObject({ stored: { emergency: 5, normal: 5 }, throttled: 5 });

    now += 3_000;
    send(Array.from({ length: 5 }, (_, i) => packet(100 + i, MessagePriority.CRITICAL)));
    await routed(r, 15);
    expect(r.stats()).toMatchObject({ stored: { emergency: 8, normal: 7 }, throttled: 7 });

    // The change is seen at the next CRITICAL packet: time until then refills at the old rate (2 s → 2 tokens).
    emergency = { tokenBucketCapacity: 20, tokenRefillPerMinute: 600 };
    now += 2_000;
    send(Array.from({ length: 25 }, (_, i) => packet(200 + i, MessagePriority.CRITICAL)));
    await routed(r, 40);
    expect(r.stats()).toMatchObject({ stored: { emergency: 10, normal: 30 }, throttled: 30 });

    // From then on: 600 per minute (3 s → 30 tokens) up to the new capacity of 20.
    now += 3_000;
    send(Array.from({ length: 25 }, (_, i) => packet(300 + i, MessagePriority.CRITICAL)));
    await routed(r, 65);
    expect(r.stats()).toMatchObject({ stored: { emergency: 30, normal: 35 }, throttled: 35 });
    expect(await storedCount("telemetryEmergency")).toBe(30);
    expect(await storedCount("telemetryNormal")).toBe(35);
  });

  it("rejects a bad raw packet with its reason, counts it and keeps routing", async () => {
    const r = start();
    const subject = subjectFor(t.ns, "telemetryRaw", { actor: "tamiyo" });
    t.bus.nc.publish(subject, new Uint8Array([0xc1, 0x00]));
    t.bus.nc.publish(subject, encodeMsgpack({ ...packet(0, MessagePriority.NORMAL), priority: 9 }));
    send([packet(1, MessagePriority.NORMAL)]);
    await routed(r, 1);

    expect(r.stats()).toMatchObject({
      received: 1,
      rejected: 2,
      rejectedByField: { "<root>": 1, priority: 1 },
      stored: { normal: 1, emergency: 0 },
    });
    const reasons = t.events.filter(
      (e) => e.name === "bus.message_rejected" && e.attributes.subject === subject,
    );
    expect(reasons.map((e) => e.attributes.field)).toEqual(["<root>", "priority"]);
    expect(String(reasons[1]?.attributes.reason)).toMatch(/MessagePriority/);
  });

  it("retries a failed publish, then counts it and reports an ERROR event naming the packet", async () => {
    const r = start({ publishAttempts: 2, attemptDeadlineMs: 300, retryDelayMs: 10 });
    const jsm = await jetStreamManagerOf(t.bus);
    await jsm.streams.delete(streamName(t.ns, "telemetryNormal"));
    try {
      send([packet(0, MessagePriority.NORMAL)]);
      await routed(r, 1);
    } finally {
      await ensureResources(t.bus);
    }
    expect(r.stats()).toMatchObject({ publishFailures: 1, publishRetries: 1, stored: { normal: 0 } });
    const failed = events.filter((e) => e.eventId === "weatherlight.telemetry.publish_failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]?.opts.level).toBe("ERROR");
    expect(failed[0]?.opts.attributes).toMatchObject({ packetId: `b${batch}-p0`, destination: "normal" });

    send([packet(1, MessagePriority.NORMAL)]);
    await routed(r, 2);
    expect(r.stats().stored.normal).toBe(1);
    expect(await storedCount("telemetryNormal")).toBe(1);
  });

  it("bounds the queue: packets beyond it are dropped, counted and reported, never lost silently", async () => {
    const r = start({ maxInFlight: 1, queueCapacity: 5 });
    send(Array.from({ length: 200 }, (_, i) => packet(i, MessagePriority.NORMAL)));
    await routed(r, 200);
    const s = r.stats();
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.stored.normal + s.dropped).toBe(200);
    expect(await storedCount("telemetryNormal")).toBe(s.stored.normal);
    expect(events.filter((e) => e.eventId === "weatherlight.telemetry.dropped")[0]?.opts.level).toBe("ERROR");
  });

  it("stop discards what is still queued after the grace and fails the awaited acks, all counted", async () => {
    const r = start({ maxInFlight: 1, attemptDeadlineMs: 30_000, retryDelayMs: 10 });
    const jsm = await jetStreamManagerOf(t.bus);
    await jsm.streams.delete(streamName(t.ns, "telemetryNormal"));
    const silent = t.bus.nc.subscribe(subjectFor(t.ns, "telemetryNormal"), { callback: () => {} });
    try {
      send(Array.from({ length: 50 }, (_, i) => packet(i, MessagePriority.NORMAL)));
      await vi.waitFor(() => expect(r.stats().received).toBe(50));
      await r.stop(200);
      await routed(r, 50);
    } finally {
      silent.unsubscribe();
      await ensureResources(t.bus);
    }
    expect(r.stats()).toMatchObject({
      stored: { normal: 0 },
      discarded: 49,
      publishFailures: 1,
      inFlight: 0,
    });
    expect(events.find((e) => e.eventId === "weatherlight.telemetry.discarded")?.opts.attributes).toEqual({
      discarded: "49",
    });
    expect(events.filter((e) => e.eventId === "weatherlight.telemetry.publish_failed")).toHaveLength(1);
  });
});
