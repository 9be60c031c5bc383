import { jetstreamManager } from "@nats-io/jetstream";
import type { Subscription } from "@nats-io/nats-core";
import { describe, expect, it } from "vitest";
import { sampleOf } from "../contracts/testing/samples.ts";
import { useTestBus } from "../test/bus-fixture.ts";
import { startNatsServer } from "../test/nats-server.ts";
import { relayTo, type TcpRelay } from "../test/tcp-relay.ts";
import { until } from "../test/until.ts";
import { type BusConnection, connectBus } from "./connection.ts";
import { type KvChange, openBucket } from "./kv.ts";
import type { BusEvent } from "./observer.ts";
import { settlesWithin } from "./settles-within.ts";

const tb = useTestBus("kv-watch-writer", { ensure: true });

/** A connection through `relay` that reconnects quickly, with the events it reported. */
async function watcherBus(relay: TcpRelay): Promise<{ bus: BusConnection; events: BusEvent[] }> {
  const events: BusEvent[] = [];
  const bus = await connectBus({
    servers: relay.url,
    name: "kv-watcher",
    namespace: tb.ns,
    reconnectBaseMs: 20,
    reconnectMaxMs: 100,
    observer: { onEvent: (e) => events.push(e) },
  });
  return { bus, events };
}

/** Whether the server has pushed revision `revision` of `stream` to a bound watch consumer. */
async function pushed(stream: string, revision: number): Promise<boolean> {
  const jsm = await jetstreamManager(tb.bus.nc);
  for await (const c of jsm.consumers.list(stream))
    if (c.push_bound && c.delivered.stream_seq >= revision) return true;
  return false;
}

const descriptor = (id: string, seed: number) => ({
  ...sampleOf("BlueprintDescriptor", seed),
  blueprintId: id,
});

describe("TypedBucket.watch across connection faults (real nats-server)", () => {
  it("delivers a put pushed into a dead connection after the reconnect, with no later put, each revision once", async () => {
    const relay = await relayTo(tb.server.url);
    const w = await watcherBus(relay);
    const writer = await openBucket(tb.bus, "catalog");
    const rev1 = await writer.put("bp-blackout-1", descriptor("bp-blackout-1", 1));
    const seen: KvChange<unknown>[] = [];
    const watch = await (await openBucket(w.bus, "catalog")).watch((c) => seen.push(c));
    try {
      await until(() => seen.some((c) => c.revision === rev1), "the first put delivered", 5_000);
      relay.blackout();
      const rev2 = await writer.put("bp-blackout-2", descriptor("bp-blackout-2", 2));
      await until(
        () => pushed(`KV_${writer.name}`, rev2),
        "the server pushed the put into the blackout",
        5_000,
      );
      relay.cut();
      relay.heal();
      await until(() => w.bus.metrics.snapshot().reconnects >= 1, "the watcher reconnected", 5_000);

      await until(() => seen.some((c) => c.revision === rev2), "the blacked-out put delivered", 5_000);
      const rev3 = await writer.put("bp-blackout-1", descriptor("bp-blackout-1", 3));
      await until(() => seen.some((c) => c.revision === rev3), "a later put delivered", 5_000);
      const revisions = seen.map((c) => c.revision);
      expect(revisions).toEqual([...new Set(revisions)].sort((a, b) => a - b));
      expect(revisions.filter((r) => r >= rev1)).toEqual([rev1, rev2, rev3]);
    } finally {
      await watch.stop();
      await w.bus.close();
      await relay.close();
    }
  });

  it("keeps reopening a watch that cannot be reopened, reporting each attempt, and delivers once it can", async () => {
    const relay = await relayTo(tb.server.url);
    const other = await startNatsServer();
    const w = await watcherBus(relay);
    const writer = await openBucket(tb.bus, "catalog");
    const rev1 = await writer.put("bp-retry-1", descriptor("bp-retry-1", 1));
    const seen: KvChange<unknown>[] = [];
    const watch = await (await openBucket(w.bus, "catalog")).watch((c) => seen.push(c), "bp-retry-1");
    const retries = () => w.events.filter((e) => e.name === "bus.kv_watch_retry");
    try {
      await until(() => seen.some((c) => c.revision === rev1), "the first put delivered", 5_000);
      // Reconnected to a server without the bucket: every reopen fails until the relay leads back.
      relay.retarget(other.url);
      relay.cut();
      relay.heal();
      await until(() => retries().length >= 3, "three reopen attempts reported", 10_000);
      expect(retries()[0]?.attributes).toMatchObject({ bucket: writer.name, attempt: 1 });
      expect(retries()[2]?.attributes).toMatchObject({ bucket: writer.name, attempt: 3 });
      expect(String(retries()[0]?.attributes.error)).toMatch(/stream not found/);
      const rev2 = await writer.put("bp-retry-1", descriptor("bp-retry-1", 2));

      relay.retarget(tb.server.url);
      relay.cut();
      relay.heal();
      await until(() => seen.some((c) => c.revision === rev2), "the put made meanwhile delivered", 15_000);
      expect(seen.map((c) => c.revision)).toEqual([rev1, rev2]);
    } finally {
      await watch.stop();
      await w.bus.close();
      await relay.close();
      await other.stop();
    }
  }, 30_000);

  it("stop() resolves while the watch waits to reopen", async () => {
    const relay = await relayTo(tb.server.url);
    const other = await startNatsServer();
    const w = await watcherBus(relay);
    const watch = await (await openBucket(w.bus, "catalog")).watch(() => {});
    const retries = () => w.events.filter((e) => e.name === "bus.kv_watch_retry");
    try {
      relay.retarget(other.url);
      relay.cut();
      relay.heal();
      // From the fourth attempt on the wait is at least 1 s: stop() must not sit it out.
      await until(() => retries().length >= 4, "four reopen attempts reported", 10_000);
      expect(await settlesWithin(watch.stop(), 500)).toBe(true);
      const after = retries().length;
      await new Promise((r) => setTimeout(r, 300));
      expect(retries()).toHaveLength(after);
    } finally {
      await w.bus.close();
      await relay.close();
      await other.stop();
    }
  }, 30_000);

  it("reopens a watch that ended on its own, reporting it, and delivers what changed meanwhile", async () => {
    const writer = await openBucket(tb.bus, "catalog");
    const events: BusEvent[] = [];
    const bus = await connectBus({
      ...tb.server.address,
      name: "kv-watch-ends",
      namespace: tb.ns,
      observer: { onEvent: (e) => events.push(e) },
    });
    const rev1 = await writer.put("bp-ends", descriptor("bp-ends", 1));
    const seen: number[] = [];
    const watch = await (await openBucket(bus, "catalog")).watch((c) => seen.push(c.revision), "bp-ends");
    try {
      await until(() => seen.includes(rev1), "the first put delivered", 5_000);
      // nats.js ends an ordered consumer's iterator when its subscription closes (as after a permissions
      // error): close the watch's delivery subscription, the only one besides the request inbox.
      const subs = (bus.nc as unknown as { protocol: { subscriptions: { all(): Subscription[] } } }).protocol
        .subscriptions;
      const delivery = subs.all().filter((sub) => !sub.getSubject().endsWith(".*"));
      expect(delivery).toHaveLength(1);
      delivery[0]?.unsubscribe();
      const rev2 = await writer.put("bp-ends", descriptor("bp-ends", 2));
      await until(() => seen.includes(rev2), "the put made after the end delivered", 5_000);
      expect(seen).toEqual([rev1, rev2]);
      expect(events.find((e) => e.name === "bus.kv_watch_retry")?.attributes).toMatchObject({
        bucket: writer.name,
        attempt: 1,
        error: "the watch ended on its own",
      });
    } finally {
      await watch.stop();
      await bus.close();
    }
  });

  it("reports an onChange that throws and goes on with the next change", async () => {
    const writer = await openBucket(tb.bus, "catalog");
    const seen: number[] = [];
    const events: BusEvent[] = [];
    const bus = await connectBus({
      ...tb.server.address,
      name: "kv-watch-throws",
      namespace: tb.ns,
      observer: { onEvent: (e) => events.push(e) },
    });
    const rev1 = await writer.put("bp-throws", descriptor("bp-throws", 1));
    const watch = await (await openBucket(bus, "catalog")).watch((c) => {
      seen.push(c.revision);
      if (c.revision === rev1) throw new Error("handler broke");
    }, "bp-throws");
    try {
      await until(() => seen.includes(rev1), "the first put handed over", 5_000);
      const rev2 = await writer.put("bp-throws", descriptor("bp-throws", 2));
      await until(() => seen.includes(rev2), "the next put handed over", 5_000);
      expect(seen).toEqual([rev1, rev2]);
      const failed = events.filter((e) => e.name === "bus.kv_watch_handler_failed");
      expect(failed).toHaveLength(1);
      expect(failed[0]?.attributes).toMatchObject({
        bucket: writer.name,
        key: "bp-throws",
        revision: rev1,
        error: "Error: handler broke",
      });
    } finally {
      await watch.stop();
      await bus.close();
    }
  });
});
