import { describe, expect, it } from "vitest";
import { encode } from "../contracts/codec.ts";
import { MessagePriority } from "../contracts/enums.ts";
import { HeaderNames } from "../contracts/headers.ts";
import type { MessageInput, MessageOf } from "../contracts/registry.ts";
import { RunMismatchError } from "../contracts/subjects.ts";
import { sampleOf } from "../contracts/testing/samples.ts";
import { useTestBus } from "../test/bus-fixture.ts";
import { BusRequestError, type MessageContext, publish, request, serve, subscribe } from "./typed.ts";

const tb = useTestBus("typed-test");
const { events, ns } = tb;

function heartbeat(actor: string, n: number): MessageInput<"Heartbeat"> {
  return { ...sampleOf("Heartbeat", n), actor, runId: undefined };
}

function collector<T>(): {
  items: T[];
  handler: (m: T, ctx: MessageContext) => void;
  ctxs: MessageContext[];
} {
  const items: T[] = [];
  const ctxs: MessageContext[] = [];
  const handler = (m: T, ctx: MessageContext): void => {
    items.push(m);
    ctxs.push(ctx);
  };
  return { items, ctxs, handler };
}

describe("core publish/subscribe", () => {
  it("round-trips a typed message with Esper headers, per actor and by wildcard", async () => {
    const one = collector<MessageOf<"Heartbeat">>();
    const all = collector<MessageOf<"Heartbeat">>();
    const s1 = subscribe(tb.bus, "heartbeat", one.handler, { params: { actor: "kasmina" } });
    const s2 = subscribe(tb.bus, "heartbeat", all.handler);
    await tb.bus.nc.flush();
    publish(tb.bus, "heartbeat", heartbeat("kasmina", 1), {
      params: { actor: "kasmina" },
      correlationId: "c-1",
    });
    publish(tb.bus, "heartbeat", heartbeat("urza", 2), {
      params: { actor: "urza" },
      priority: MessagePriority.HIGH,
    });
    await expect.poll(() => all.items.length).toBe(2);
    expect(one.items.map((h) => h.actor)).toEqual(["kasmina"]);
    expect(one.items[0]).toEqual(heartbeat("kasmina", 1));
    const ctx = one.ctxs[0];
    expect(ctx?.subject).toBe(`${ns}.heartbeat.kasmina`);
    expect(ctx?.headers).toMatchObject({
      correlationId: "c-1",
      priority: MessagePriority.NORMAL,
      contractVersion: 1,
      messageType: "Heartbeat",
    });
    expect(ctx?.headers.messageId).toMatch(/\w{10,}/);
    expect(all.ctxs[1]?.headers.priority).toBe(MessagePriority.HIGH);
    await s1.stop();
    await s2.stop();
  });

  it("spreads messages over a queue group", async () => {
    const a = collector<MessageOf<"Heartbeat">>();
    const b = collector<MessageOf<"Heartbeat">>();
    const sa = subscribe(tb.bus, "heartbeat", a.handler, { queue: "q" });
    const sb = subscribe(tb.bus, "heartbeat", b.handler, { queue: "q" });
    await tb.bus.nc.flush();
    for (let i = 0; i < 40; i++)
      publish(tb.bus, "heartbeat", heartbeat("tolaria", i + 1), { params: { actor: "tolaria" } });
    await expect.poll(() => a.items.length + b.items.length).toBe(40);
    expect(a.items.length).toBeGreaterThan(0);
    expect(b.items.length).toBeGreaterThan(0);
    await sa.stop();
    await sb.stop();
  });

  it("refuses an invalid message before publishing", () => {
    const bad = { ...heartbeat("x", 1), pid: 0 };
    expect(() => publish(tb.bus, "heartbeat", bad, { params: { actor: "x" } })).toThrow(/pid/);
  });

  it("rejects malformed payloads with subject and field path, counts them, and keeps handling", async () => {
    const got = collector<MessageOf<"Heartbeat">>();
    const sub = subscribe(tb.bus, "heartbeat", got.handler, { params: { actor: "bad" } });
    await tb.bus.nc.flush();
    const subject = `${ns}.heartbeat.bad`;
    tb.bus.nc.publish(subject, new Uint8Array([0xc1, 0xff, 0x00]));
    const wrongField = encode("ControlRequest", { requestId: "r1", verb: "ping" });
    tb.bus.nc.publish(subject, wrongField);
    publish(tb.bus, "heartbeat", heartbeat("bad", 7), { params: { actor: "bad" } });
    await expect.poll(() => got.items.length).toBe(1);
    expect(got.items[0]?.actor).toBe("bad");
    const rejected = tb.bus.metrics.snapshot().rejected;
    expect(rejected["heartbeat.{actor} <root>"]).toBe(1);
    expect(Object.keys(rejected).filter((k) => k.startsWith("heartbeat.{actor}")).length).toBe(2);
    const ev = events.filter((e) => e.name === "bus.message_rejected" && e.attributes.subject === subject);
    expect(ev).toHaveLength(2);
    expect(ev[0]?.attributes.reason).toMatch(/msgpack/);
    expect(ev[1]?.attributes.field).not.toBe("<root>");
    await sub.stop();
  });

  it("rejects a payload whose header names another message type", async () => {
    const got = collector<MessageOf<"Heartbeat">>();
    const sub = subscribe(tb.bus, "heartbeat", got.handler, { params: { actor: "hdr" } });
    await tb.bus.nc.flush();
    const { headers } = await import("@nats-io/transport-node");
    const h = headers();
    h.set(HeaderNames.messageType, "SeedReport");
    tb.bus.nc.publish(`${ns}.heartbeat.hdr`, encode("Heartbeat", heartbeat("hdr", 3)), { headers: h });
    await tb.bus.nc.flush();
    await expect
      .poll(() => tb.bus.metrics.snapshot().rejected[`heartbeat.{actor} header:${HeaderNames.messageType}`])
      .toBe(1);
    expect(got.items).toHaveLength(0);
    await sub.stop();
  });

  it("bounds pending messages: reports a slow consumer and counts drops instead of growing", async () => {
    let release = (): void => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let handled = 0;
    const sub = subscribe(
      tb.bus,
      "heartbeat",
      async () => {
        await gate;
        handled++;
      },
      { params: { actor: "slow" }, maxPending: 10 },
    );
    await tb.bus.nc.flush();
    for (let i = 0; i < 30; i++)
      publish(tb.bus, "heartbeat", heartbeat("slow", i + 1), { params: { actor: "slow" } });
    const subject = `${ns}.heartbeat.slow`;
    await expect.poll(() => tb.bus.metrics.snapshot().dropped["heartbeat.{actor}"]).toBe(19);
    expect(sub.pending()).toBe(10);
    expect(tb.bus.metrics.snapshot().slowConsumer["heartbeat.{actor}"]).toBe(1);
    expect(events.some((e) => e.name === "bus.slow_consumer" && e.attributes.subject === subject)).toBe(true);
    release();
    await sub.stop();
    expect(handled).toBe(11);
  });

  it("a stop past its grace period discards the queue, counts and reports it, and reports the running handler", async () => {
    let release = (): void => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const seen: number[] = [];
    const sub = subscribe(
      tb.bus,
      "heartbeat",
      async (m) => {
        seen.push(m.pid);
        await gate;
      },
      { params: { actor: "stopper" } },
    );
    await tb.bus.nc.flush();
    for (let i = 0; i < 5; i++)
      publish(
        tb.bus,
        "heartbeat",
        { ...heartbeat("stopper", i), pid: i + 1 },
        { params: { actor: "stopper" } },
      );
    await expect.poll(() => sub.pending()).toBe(4);
    const droppedBefore = tb.bus.metrics.snapshot().dropped["heartbeat.{actor}"] ?? 0;
    await sub.stop(50);
    const subject = `${ns}.heartbeat.stopper`;
    const mine = events.filter((e) => e.attributes.subject === subject);
    expect(
      mine.filter((e) => e.name === "bus.subscription_discarded").map((e) => e.attributes.count),
    ).toEqual([4]);
    expect(mine.find((e) => e.name === "bus.handlers_abandoned")?.attributes.running).toBe(1);
    expect(tb.bus.metrics.snapshot().dropped["heartbeat.{actor}"]).toBe(droppedBefore + 4);
    release();
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([1]);
  });

  it("counts a failing handler and keeps the subscription running", async () => {
    const seen: number[] = [];
    const sub = subscribe(
      tb.bus,
      "heartbeat",
      (m) => {
        seen.push(m.pid);
        if (m.pid === 1) throw new Error("boom");
      },
      { params: { actor: "err" } },
    );
    await tb.bus.nc.flush();
    publish(tb.bus, "heartbeat", { ...heartbeat("err", 1), pid: 1 }, { params: { actor: "err" } });
    publish(tb.bus, "heartbeat", { ...heartbeat("err", 2), pid: 2 }, { params: { actor: "err" } });
    await expect.poll(() => seen).toEqual([1, 2]);
    expect(tb.bus.metrics.snapshot().handlerErrors["heartbeat.{actor}"]).toBe(1);
    await sub.stop();
  });
});

describe("request/reply", () => {
  const reply = (requestId: string): MessageInput<"ControlReply"> => ({
    requestId,
    actor: "kasmina",
    instanceId: "k-1",
    ok: true,
    state: "running",
    message: "pong",
  });

  it("round-trips a typed request and reply with the correlation id", async () => {
    const sub = serve(
      tb.bus,
      "control",
      (req, ctx) => ({ ...reply(req.requestId), message: ctx.headers.correlationId ?? "" }),
      {
        params: { actor: "kasmina" },
      },
    );
    await tb.bus.nc.flush();
    const answer = await request(
      tb.bus,
      "control",
      { requestId: "r-1", verb: "ping" },
      { params: { actor: "kasmina" }, timeoutMs: 2000, correlationId: "corr-9" },
    );
    expect(answer).toEqual({ ...reply("r-1"), message: "corr-9" });
    await sub.stop();
  });

  it("times out with a clear error when the responder does not answer in time", async () => {
    const sub = serve(tb.bus, "control", () => new Promise<never>(() => {}), { params: { actor: "mute" } });
    await tb.bus.nc.flush();
    const err = await request(
      tb.bus,
      "control",
      { requestId: "r", verb: "ping" },
      { params: { actor: "mute" }, timeoutMs: 150 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusRequestError);
    expect((err as BusRequestError).kind).toBe("timeout");
    expect((err as BusRequestError).message).toContain(`${ns}.mute.control`);
    await sub.stop(10);
  });

  it("reports no responders", async () => {
    const err = await request(
      tb.bus,
      "control",
      { requestId: "r", verb: "ping" },
      { params: { actor: "nobody" }, timeoutMs: 1000 },
    ).catch((e: unknown) => e);
    expect((err as BusRequestError).kind).toBe("no_responders");
  });

  it("stops waiting when the AbortSignal fires", async () => {
    const sub = serve(tb.bus, "control", () => new Promise<never>(() => {}), { params: { actor: "abort" } });
    await tb.bus.nc.flush();
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(new Error("shutdown")), 50);
    const err = await request(
      tb.bus,
      "control",
      { requestId: "r", verb: "ping" },
      { params: { actor: "abort" }, timeoutMs: 5000, signal: ac.signal },
    ).catch((e: unknown) => e);
    expect((err as BusRequestError).kind).toBe("aborted");
    expect(Date.now() - started).toBeLessThan(2000);
    const pre = await request(
      tb.bus,
      "control",
      { requestId: "r", verb: "ping" },
      { params: { actor: "abort" }, timeoutMs: 5000, signal: AbortSignal.abort() },
    ).catch((e: unknown) => e);
    expect((pre as BusRequestError).kind).toBe("aborted");
    await sub.stop(10);
  });

  it("answers an invalid request with an error naming the field; the handler never sees it", async () => {
    let calls = 0;
    const sub = serve(
      tb.bus,
      "control",
      (req) => {
        calls++;
        return reply(req.requestId);
      },
      { params: { actor: "strict" } },
    );
    await tb.bus.nc.flush();
    const raw = await tb.bus.nc.request(`${ns}.strict.control`, encode("Heartbeat", heartbeat("x", 1)), {
      timeout: 2000,
    });
    expect(raw.headers?.get("Nats-Service-Error-Code")).toBe("400");
    expect(raw.headers?.get("Nats-Service-Error")).toMatch(/ControlRequest/);
    expect(calls).toBe(0);
    const ok = await request(
      tb.bus,
      "control",
      { requestId: "ok", verb: "status" },
      { params: { actor: "strict" }, timeoutMs: 2000 },
    );
    expect(ok.requestId).toBe("ok");
    expect(calls).toBe(1);
    await sub.stop();
  });

  it("turns a handler error into a remote error for the requester", async () => {
    const sub = serve(
      tb.bus,
      "control",
      () => {
        throw new Error("not ready");
      },
      { params: { actor: "broken" } },
    );
    await tb.bus.nc.flush();
    const err = await request(
      tb.bus,
      "control",
      { requestId: "r", verb: "drain" },
      { params: { actor: "broken" }, timeoutMs: 2000 },
    ).catch((e: unknown) => e);
    expect((err as BusRequestError).kind).toBe("remote_error");
    expect((err as BusRequestError).message).toContain("not ready");
    await sub.stop();
  });
});

describe("run-level core publish", () => {
  it("refuses a decision whose run id differs from the subject's run token and sends nothing", async () => {
    const got: string[] = [];
    const sub = subscribe(tb.bus, "decision", (d) => void got.push(d.trainingRunId));
    await tb.bus.nc.flush();
    const decision = { ...sampleOf("TamiyoDecision", 1), trainingRunId: "run-a" };
    expect(() => publish(tb.bus, "decision", decision, { params: { run: "run-b" } })).toThrow(
      RunMismatchError,
    );
    publish(tb.bus, "decision", decision, { params: { run: "run-a" } });
    await tb.bus.nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual(["run-a"]);
    await sub.stop();
  });
});
