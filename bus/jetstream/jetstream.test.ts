import { describe, expect, it } from "vitest";
import { SystemLimits } from "../../contracts/budgets.ts";
import { decode, encode } from "../../contracts/codec.ts";
import type { MessageInput, MessageOf } from "../../contracts/registry.ts";
import { sampleOf } from "../../contracts/testing/samples.ts";
import { useTestBus } from "../../test/bus-fixture.ts";
import { connectBus } from "../connection.ts";
import { consume, RetryableError } from "./consume.ts";
import { jetStreamManagerOf, jetStreamOf } from "./context.ts";
import { type ConsumerDeclaration, kvBuckets, stackConsumers, streamName, streams } from "./declarations.ts";
import { ensureConsumer, ensureResources, ensureStream } from "./ensure.ts";
import { publishToStream } from "./publish.ts";

const tb = useTestBus("js-test", { ensure: true });
const { ns } = tb;

function command(id: string, seed = 1): MessageInput<"AdaptationCommand"> {
  return { ...sampleOf("AdaptationCommand", seed), trainingRunId: "r1", commandId: id };
}

/** A command consumer for one test-only target, with short delays. */
async function testConsumer(
  target: string,
  over: Partial<Omit<ConsumerDeclaration, "subject" | "stream">> = {},
) {
  const declaration = {
    stream: "commands",
    subject: "command",
    params: { target },
    ackWaitMs: 5_000,
    maxDeliver: 3,
    maxAckPending: 8,
    retryDelayMs: 30,
    replayWindowMs: 60_000,
    ...over,
  } as const satisfies ConsumerDeclaration;
  const name = `test-${target}`;
  await ensureConsumer(tb.bus, await jetStreamManagerOf(tb.bus), name, declaration);
  return { name, declaration };
}

/** How many `bus.dead_lettered` events named concrete `subject` (metrics count by subject pattern). */
function deadLetteredEvents(subject: string): number {
  return tb.events.filter((e) => e.name === "bus.dead_lettered" && e.attributes.subject === subject).length;
}

async function deadLetters(): Promise<MessageOf<"DeadLetter">[]> {
  const jsm = await jetStreamManagerOf(tb.bus);
  const stream = streamName(ns, "deadLetters");
  const info = await jsm.streams.info(stream);
  const out: MessageOf<"DeadLetter">[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (m) out.push(decode("DeadLetter", m.data));
  }
  return out;
}

describe("declared resources", () => {
  it("are created once and then left unchanged", async () => {
    const again = await ensureResources(tb.bus);
    expect(again.created).toEqual([]);
    expect(again.updated).toEqual([]);
    expect(again.unchanged).toContain(streamName(ns, "commands"));
    expect(again.unchanged).toContain(`${streamName(ns, "emergencySignals")}/weatherlight-emergency`);
    expect(again.unchanged).toContain(`${ns}_settings`);
    expect(again.unchanged).toContain(`${ns}_kernels`);
    expect(again.unchanged).toContain(`${ns}_advisories`);
    expect(again.unchanged.length).toBe(
      Object.keys(streams).length +
        1 +
        Object.keys(stackConsumers).length +
        Object.keys(kvBuckets).length +
        1,
    );
    const jsm = await jetStreamManagerOf(tb.bus);
    const info = await jsm.streams.info(streamName(ns, "commands"));
    expect(info.config.subjects).toEqual([`${ns}.command.*.*`]);
    const subjectsOf = async (key: keyof typeof streams) =>
      (await jsm.streams.info(streamName(ns, key))).config.subjects;
    expect(await subjectsOf("seeds")).toEqual([
      `${ns}.seed.*.directive`,
      `${ns}.seed.*.report`,
      `${ns}.seed.*.state`,
    ]);
    expect(await subjectsOf("stateHistory")).toEqual([`${ns}.state.*`]);
    expect(await subjectsOf("fieldReports")).toEqual([`${ns}.fieldreport.*`]);
    expect(await subjectsOf("emergencySignals")).toEqual([`${ns}.emergency.*`]);
    expect(info.config.discard).toBe("new");
    expect(info.config.duplicate_window).toBe(SystemLimits.maxCommandFreshnessMs * 1_000_000);
  });

  it("brings a KV bucket whose limits drifted back to the declaration", async () => {
    const jsm = await jetStreamManagerOf(tb.bus);
    const stream = `KV_${ns}_settings`;
    const { config } = await jsm.streams.info(stream);
    await jsm.streams.update(stream, { ...config, max_bytes: 1024 * 1024 });
    const again = await ensureResources(tb.bus);
    expect(again.updated).toEqual([`${ns}_settings`]);
    expect((await jsm.streams.info(stream)).config.max_bytes).toBe(kvBuckets.settings.maxBytes);
  });

  it("two supervisors declaring a fresh namespace at once both succeed", async () => {
    const fresh = `${ns}race`;
    const conns = await Promise.all(
      [1, 2].map((n) => connectBus({ name: `race-${n}`, namespace: fresh, ...tb.server.address })),
    );
    try {
      const jsm = await jetStreamManagerOf(tb.bus);
      for (let round = 0; round < 5; round++) {
        await Promise.all(conns.map((c) => ensureResources(c)));
        const consumer = `${streamName(fresh, "emergencySignals")}`;
        await jsm.consumers.delete(consumer, "weatherlight-emergency");
      }
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
  });

  it("brings a changed limit to the declaration", async () => {
    const jsm = await jetStreamManagerOf(tb.bus);
    const changed = { ...streams.fieldReports, maxBytes: 128 * 1024 * 1024 };
    expect(await ensureStream(jsm, ns, "fieldReports", changed)).toEqual([
      streamName(ns, "fieldReports"),
      "updated",
    ]);
    expect(await ensureStream(jsm, ns, "fieldReports", streams.fieldReports)).toEqual([
      streamName(ns, "fieldReports"),
      "updated",
    ]);
    expect(await ensureStream(jsm, ns, "fieldReports", streams.fieldReports)).toEqual([
      streamName(ns, "fieldReports"),
      "unchanged",
    ]);
  });
});

describe("JetStream publish and consume", () => {
  it("round-trips a command through the declared consumer of its run with an ack", async () => {
    const got: { msg: MessageOf<"AdaptationCommand">; delivery: number; messageId: string | undefined }[] =
      [];
    const c = await consume(tb.bus, { name: "kasmina-commands", run: "r1" }, (msg, ctx) => {
      got.push({ msg, delivery: ctx.deliveryCount, messageId: ctx.headers.messageId });
    });
    const ack = await publishToStream(tb.bus, "command", command("cmd-rt"), {
      params: { run: "r1", target: "kasmina" },
    });
    expect(ack).toMatchObject({ stream: streamName(ns, "commands"), duplicate: false, messageId: "cmd-rt" });
    await expect.poll(() => got.length).toBe(1);
    expect(got[0]).toMatchObject({ msg: command("cmd-rt"), delivery: 1, messageId: "cmd-rt" });
    await c.stop();
    const info = await (await jetStreamManagerOf(tb.bus)).consumers.info(
      streamName(ns, "commands"),
      "kasmina-commands-r1",
    );
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
  });

  it("deduplicates a re-published command id", async () => {
    const first = await publishToStream(tb.bus, "command", command("cmd-dup"), {
      params: { run: "r1", target: "dedup" },
    });
    const second = await publishToStream(tb.bus, "command", command("cmd-dup", 2), {
      params: { run: "r1", target: "dedup" },
    });
    expect(second.duplicate).toBe(true);
    expect(second.seq).toBe(first.seq);
    const { name, declaration } = await testConsumer("dedup");
    const seen: string[] = [];
    const c = await consume(tb.bus, { name, declaration }, (m) => {
      seen.push(m.commandId);
    });
    await publishToStream(tb.bus, "command", command("cmd-after"), {
      params: { run: "r1", target: "dedup" },
    });
    await expect.poll(() => seen).toEqual(["cmd-dup", "cmd-after"]);
    await c.stop();
  });

  it("dead-letters a message whose handler fails with a non-retryable error, at once", async () => {
    const ref = await testConsumer("poison");
    let calls = 0;
    const c = await consume(tb.bus, ref, () => {
      calls++;
      throw new Error("cannot apply");
    });
    const ack = await publishToStream(tb.bus, "command", command("cmd-poison"), {
      params: { run: "r1", target: "poison" },
    });
    await expect.poll(() => deadLetteredEvents(`${ns}.command.r1.poison`)).toBe(1);
    expect(calls).toBe(1);
    const dl = (await deadLetters()).find((d) => d.originalSubject === `${ns}.command.r1.poison`);
    expect(dl).toMatchObject({
      stream: streamName(ns, "commands"),
      consumer: ref.name,
      deliveries: 1,
      streamSequence: ack.seq,
      headers: expect.objectContaining({ "Nats-Msg-Id": "cmd-poison" }),
    });
    expect(dl?.reason).toContain("cannot apply");
    expect(decode("AdaptationCommand", dl?.payload ?? new Uint8Array())).toEqual(command("cmd-poison"));
    await c.stop();
  });

  it("naks retryable failures with a delay and dead-letters after max deliver", async () => {
    const ref = await testConsumer("retry", { maxDeliver: 3, retryDelayMs: 20 });
    const deliveries: number[] = [];
    const c = await consume(tb.bus, ref, (_m, ctx) => {
      deliveries.push(ctx.deliveryCount);
      throw new RetryableError("kernel not ready");
    });
    await publishToStream(tb.bus, "command", command("cmd-retry"), {
      params: { run: "r1", target: "retry" },
    });
    await expect.poll(() => deadLetteredEvents(`${ns}.command.r1.retry`)).toBe(1);
    expect(deliveries).toEqual([1, 2, 3]);
    const dl = (await deadLetters()).find((d) => d.originalSubject === `${ns}.command.r1.retry`);
    expect(dl?.deliveries).toBe(3);
    expect(dl?.reason).toMatch(/gave up after 3 deliveries/);
    await c.stop();
  });

  it("acks a message that succeeds on redelivery", async () => {
    const ref = await testConsumer("flaky");
    const deliveries: number[] = [];
    const c = await consume(tb.bus, ref, (_m, ctx) => {
      deliveries.push(ctx.deliveryCount);
      if (ctx.deliveryCount === 1) throw new RetryableError("busy", 10);
    });
    await publishToStream(tb.bus, "command", command("cmd-flaky"), {
      params: { run: "r1", target: "flaky" },
    });
    await expect.poll(() => deliveries).toEqual([1, 2]);
    await c.stop();
    expect(deadLetteredEvents(`${ns}.command.r1.flaky`)).toBe(0);
  });

  it("rejects a malformed stored payload with its field path, terminates it, and goes on", async () => {
    const ref = await testConsumer("malformed");
    const seen: string[] = [];
    const c = await consume(tb.bus, ref, (m) => {
      seen.push(m.commandId);
    });
    const subject = `${ns}.command.r1.malformed`;
    await jetStreamOf(tb.bus).publish(subject, encode("ControlRequest", { requestId: "x", verb: "ping" }), {
      msgID: "bad-1",
    });
    await publishToStream(tb.bus, "command", command("cmd-good"), {
      params: { run: "r1", target: "malformed" },
    });
    await expect.poll(() => seen).toEqual(["cmd-good"]);
    await expect.poll(() => deadLetteredEvents(subject)).toBe(1);
    const rejected = tb.events.filter(
      (e) => e.name === "bus.message_rejected" && e.attributes.subject === subject,
    );
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.attributes.field).not.toBe("<root>");
    const dl = (await deadLetters()).find((d) => d.originalSubject === subject);
    expect(dl?.reason).toMatch(/^invalid payload: AdaptationCommand: /);
    expect(dl?.deliveries).toBe(1);
    await c.stop();
  });

  it("handles messages of one subject in order with several in flight", async () => {
    const ref = await testConsumer("order", { maxAckPending: 32 });
    const seen: string[] = [];
    const c = await consume(
      tb.bus,
      ref,
      async (m) => {
        await new Promise((r) => setTimeout(r, Math.random() * 3));
        seen.push(m.commandId);
      },
      { maxInFlight: 8 },
    );
    const ids = Array.from({ length: 20 }, (_, i) => `cmd-o${i}`);
    await Promise.all(
      ids.map((id) =>
        publishToStream(tb.bus, "command", command(id), { params: { run: "r1", target: "order" } }),
      ),
    );
    await expect.poll(() => seen.length).toBe(20);
    const acks = await Promise.all(
      ids.map((id) =>
        publishToStream(tb.bus, "command", command(id), { params: { run: "r1", target: "order" } }),
      ),
    );
    expect(acks.every((a) => a.duplicate)).toBe(true);
    const bySeq = [...seen];
    expect(bySeq).toEqual(ids.slice().sort((a, b) => seqOf(a) - seqOf(b)));
    await c.stop();
    function seqOf(id: string): number {
      return acks[ids.indexOf(id)]?.seq ?? -1;
    }
  });

  it("fails a stream publish with a clear error when no stream stores the subject", async () => {
    const other = await connectBus({ ...tb.server.address, name: "no-streams", namespace: `${ns}x` });
    await expect(
      publishToStream(other, "command", command("cmd-nowhere"), {
        params: { run: "r1", target: "kasmina" },
        deadlineMs: 300,
      }),
    ).rejects.toThrow(/no stream ack .*cmd-nowhere.*were the resources ensured/);
    await other.close();
  });
});
