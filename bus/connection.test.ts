import { describe, expect, it } from "vitest";
import { sampleOf } from "../contracts/testing/samples.ts";
import { useNatsServer } from "../test/bus-fixture.ts";
import { BusConnectionError, backoffDelay, connectBus } from "./connection.ts";
import type { BusEvent } from "./observer.ts";
import { publish, subscribe } from "./typed.ts";

const fixture = useNatsServer();

describe("connectBus", () => {
  it("connects with a name and namespace, reports it, and drains on close", async () => {
    const events: BusEvent[] = [];
    const bus = await connectBus({
      ...fixture.server.address,
      name: "conn-test",
      namespace: "tconn",
      observer: { onEvent: (e) => events.push(e) },
    });
    expect(bus.nc.info?.jetstream).toBe(true);
    let hookRan = false;
    bus.onClose(async () => {
      hookRan = true;
    });
    await bus.close();
    await bus.close();
    expect(hookRan).toBe(true);
    expect(bus.nc.isClosed()).toBe(true);
    expect(events.map((e) => e.name)).toContain("bus.connected");
    expect(events[0]?.attributes.connection).toBe("conn-test");
  });

  it("close() stops every subscription within drainTimeoutMs, counting and reporting the messages it discards", async () => {
    const events: BusEvent[] = [];
    const bus = await connectBus({
      ...fixture.server.address,
      name: "close-test",
      namespace: "tclose",
      drainTimeoutMs: 100,
      observer: { onEvent: (e) => events.push(e) },
    });
    let release = (): void => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const sub = subscribe(bus, "heartbeat", () => gate, { params: { actor: "closer" } });
    await bus.nc.flush();
    for (let i = 0; i < 3; i++)
      publish(
        bus,
        "heartbeat",
        { ...sampleOf("Heartbeat", i), actor: "closer", runId: undefined },
        {
          params: { actor: "closer" },
        },
      );
    await expect.poll(() => sub.pending()).toBe(2);
    const started = Date.now();
    await bus.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    const discarded = events.filter((e) => e.name === "bus.subscription_discarded");
    expect(discarded.map((e) => [e.attributes.subject, e.attributes.count])).toEqual([
      ["tclose.heartbeat.closer", 2],
    ]);
    expect(bus.metrics.snapshot().dropped["heartbeat.{actor}"]).toBe(2);
    release();
  });

  it("fails after the connect window with the URL and the cause", async () => {
    const url = "nats://127.0.0.1:1";
    const started = Date.now();
    const err = await connectBus({ servers: url, name: "x", namespace: "t", connectWindowMs: 600 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BusConnectionError);
    expect((err as BusConnectionError).message).toContain(url);
    expect((err as BusConnectionError).attempts).toBeGreaterThan(1);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("refuses a namespace that is not one subject token", async () => {
    await expect(connectBus({ ...fixture.server.address, name: "x", namespace: "a.b" })).rejects.toThrow(
      /namespace/,
    );
  });

  it("reports disconnect and reconnect when the server is killed and restarted", async () => {
    const events: BusEvent[] = [];
    const bus = await connectBus({
      ...fixture.server.address,
      name: "fault",
      namespace: "tconn",
      reconnectBaseMs: 50,
      reconnectMaxMs: 200,
      observer: { onEvent: (e) => events.push(e) },
    });
    await fixture.server.kill();
    await fixture.server.restart();
    await expect.poll(() => bus.metrics.snapshot().reconnects, { timeout: 10_000 }).toBe(1);
    expect(bus.metrics.snapshot().disconnects).toBe(1);
    expect(events.map((e) => e.name)).toEqual(
      expect.arrayContaining(["bus.disconnected", "bus.reconnected"]),
    );
    await bus.nc.flush();
    await bus.close();
  });
});

describe("backoffDelay", () => {
  it("grows exponentially with jitter in [d/2, d] and is capped", () => {
    for (let a = 0; a < 10; a++) {
      const d = Math.min(1000, 100 * 2 ** a);
      const v = backoffDelay(a, 100, 1000);
      expect(v).toBeGreaterThanOrEqual(d / 2);
      expect(v).toBeLessThanOrEqual(d);
    }
  });
});
