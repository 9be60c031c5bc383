import { describe, expect, it } from "vitest";
import { useTestBus } from "../../test/bus-fixture.ts";
import { outgoingHeaders } from "../headers.ts";
import { jetStreamManagerOf } from "./context.ts";
import { streamName } from "./declarations.ts";
import { StreamPublishError } from "./publish.ts";
import { StreamPublisher } from "./stream-publisher.ts";

const t = useTestBus("stream-publisher-test", { ensure: true });

const payload = new Uint8Array([1, 2, 3]);
const headersFor = (id: string) => outgoingHeaders("TelemetryPacket", {}, { messageId: id });

describe("StreamPublisher", () => {
  it("resolves each store with its stream ack, a repeated message id as duplicate", async () => {
    const p = new StreamPublisher(t.bus, 5_000);
    const subject = `${t.ns}.telemetry.normal`;
    const acks = await Promise.all(
      Array.from({ length: 300 }, (_, i) => p.store(subject, payload, headersFor(`m-${i}`))),
    );
    expect(acks.map((a) => a.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(acks[0]).toMatchObject({
      stream: streamName(t.ns, "telemetryNormal"),
      duplicate: false,
      messageId: "m-0",
    });
    const again = await p.store(subject, payload, headersFor("m-7"));
    expect(again).toMatchObject({ duplicate: true, seq: 8 });
    const jsm = await jetStreamManagerOf(t.bus);
    expect((await jsm.streams.info(streamName(t.ns, "telemetryNormal"))).state.messages).toBe(300);
    expect(p.inFlight).toBe(0);
    p.close();
  });

  it("rejects when no stream stores the subject (no responders)", async () => {
    const p = new StreamPublisher(t.bus, 5_000);
    const err = await p.store(`${t.ns}.nowhere`, payload, headersFor("x-1")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamPublishError);
    expect(String((err as Error).message)).toMatch(/no responders/);
    p.close();
  });

  it("rejects an ack that does not come within the deadline, and what is awaited at close", async () => {
    const subject = `${t.ns}.silent`;
    const silent = t.bus.nc.subscribe(subject, { callback: () => {} });
    await t.bus.nc.flush();
    const p = new StreamPublisher(t.bus, 200);
    const started = Date.now();
    const late = await p.store(subject, payload, headersFor("s-1")).catch((e: unknown) => e);
    expect(String((late as Error).message)).toMatch(/timeout: no ack within 200 ms/);
    expect(Date.now() - started).toBeLessThan(2_000);

    const q = new StreamPublisher(t.bus, 60_000);
    const pending = q.store(subject, payload, headersFor("s-2")).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    expect(q.inFlight).toBe(1);
    q.close();
    expect(String(((await pending) as Error).message)).toMatch(/publisher closed/);
    expect(q.inFlight).toBe(0);
    silent.unsubscribe();
    p.close();
  });
});
