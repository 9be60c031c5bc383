import { describe, expect, it } from "vitest";
import { decode } from "../../contracts/codec.ts";
import type { MessageInput, MessageOf } from "../../contracts/registry.ts";
import { sampleOf } from "../../contracts/testing/samples.ts";
import { useTestBus } from "../../test/bus-fixture.ts";
import { consume } from "./consume.ts";
import { jetStreamManagerOf, jetStreamOf } from "./context.ts";
import { type ConsumerDeclaration, streamName } from "./declarations.ts";
import { ensureConsumer } from "./ensure.ts";
import {
  MAX_DELIVERIES_ADVISORY_PREFIX,
  maxDeliveriesSubject,
  watchMaxDeliveries,
} from "./max-deliveries.ts";
import { publishToStream } from "./publish.ts";

const tb = useTestBus("max-deliveries-test", { ensure: true });
const { events, ns } = tb;
const commands = (): string => streamName(ns, "commands");

function command(id: string): MessageInput<"AdaptationCommand"> {
  return { ...sampleOf("AdaptationCommand", 1), trainingRunId: "r1", commandId: id };
}

/** A command consumer for one test-only target: short ack wait, two deliveries. */
async function testConsumer(target: string) {
  const declaration = {
    stream: "commands",
    subject: "command",
    params: { target },
    ackWaitMs: 300,
    maxDeliver: 2,
    maxAckPending: 4,
    retryDelayMs: 20,
    replayWindowMs: 60_000,
  } as const satisfies ConsumerDeclaration;
  const name = `md-${target}`;
  await ensureConsumer(tb.bus, await jetStreamManagerOf(tb.bus), name, declaration);
  return { name, declaration };
}

/** Takes every allowed delivery of the consumer's next message and settles none, like a process that dies. */
async function deliverWithoutAck(name: string, times: number): Promise<number[]> {
  const c = await jetStreamOf(tb.bus).consumers.get(commands(), name);
  const deliveries: number[] = [];
  while (deliveries.length < times) {
    const batch = await c.fetch({ max_messages: 1, expires: 2_000 });
    for await (const m of batch) deliveries.push(m.info.deliveryCount);
  }
  return deliveries;
}

/**
 * A pull request left waiting on the consumer: nats-server 2.9 sends the max-deliveries advisory only
 * when a pull makes it look at the expired last delivery.
 */
async function waitingPull(name: string) {
  const c = await jetStreamOf(tb.bus).consumers.get(commands(), name);
  const batch = await c.fetch({ max_messages: 1, expires: 5_000 });
  const drained = (async () => {
    for await (const _ of batch);
  })();
  return {
    close: async (): Promise<void> => {
      await batch.close();
      await drained;
    },
  };
}

async function deadLettersOf(seq: number): Promise<MessageOf<"DeadLetter">[]> {
  const jsm = await jetStreamManagerOf(tb.bus);
  const stream = streamName(ns, "deadLetters");
  const info = await jsm.streams.info(stream);
  const out: MessageOf<"DeadLetter">[] = [];
  for (let s = info.state.first_seq; s <= info.state.last_seq && info.state.messages > 0; s++) {
    const m = await jsm.streams.getMessage(stream, { seq: s });
    if (m === null) continue;
    const dl = decode("DeadLetter", m.data);
    if (dl.stream === commands() && dl.streamSequence === seq) out.push(dl);
  }
  return out;
}

describe("max-deliveries sweeper", () => {
  it("observes the server's advisory: subject and fields", async () => {
    const { name } = await testConsumer("observe");
    const seen: { subject: string; body: Record<string, unknown> }[] = [];
    const sub = tb.bus.nc.subscribe(`${MAX_DELIVERIES_ADVISORY_PREFIX}.>`, {
      callback: (_e, m) => {
        seen.push({ subject: m.subject, body: m.json() });
      },
    });
    const ack = await publishToStream(tb.bus, "command", command("cmd-observe"), {
      params: { run: "r1", target: "observe" },
    });
    expect(await deliverWithoutAck(name, 2)).toEqual([1, 2]);
    const pull = await waitingPull(name);
    await expect.poll(() => seen.length).toBe(1);
    await pull.close();
    sub.unsubscribe();
    expect(seen[0]?.subject).toBe(maxDeliveriesSubject(commands(), name));
    expect(seen[0]?.body).toMatchObject({
      type: "io.nats.jetstream.advisory.v1.max_deliver",
      stream: commands(),
      consumer: name,
      stream_seq: ack.seq,
      deliveries: 2,
    });
  });

  it("dead-letters a message whose last delivery was never acked (consumer died), when the consumer comes back", async () => {
    const ref = await testConsumer("crash");
    const ack = await publishToStream(tb.bus, "command", command("cmd-crash"), {
      params: { run: "r1", target: "crash" },
    });
    expect(await deliverWithoutAck(ref.name, 2)).toEqual([1, 2]);
    const handled: string[] = [];
    const c = await consume(tb.bus, ref, (m) => {
      handled.push(m.commandId);
    });
    await publishToStream(tb.bus, "command", command("cmd-after-crash"), {
      params: { run: "r1", target: "crash" },
    });
    await expect.poll(() => deadLettersOf(ack.seq), { timeout: 5_000 }).toHaveLength(1);
    await expect.poll(() => handled).toEqual(["cmd-after-crash"]);
    await c.stop();
    const [dl] = await deadLettersOf(ack.seq);
    expect(dl).toMatchObject({
      originalSubject: `${ns}.command.r1.crash`,
      stream: commands(),
      consumer: ref.name,
      deliveries: 2,
      streamSequence: ack.seq,
      headers: expect.objectContaining({ "Nats-Msg-Id": "cmd-crash" }),
    });
    expect(dl?.reason).toMatch(/not acknowledged after 2 deliveries \(max 2\)/);
    expect(decode("AdaptationCommand", dl?.payload ?? new Uint8Array())).toEqual(command("cmd-crash"));
    expect(
      events.filter(
        (e) => e.name === "bus.dead_lettered" && e.attributes.subject === `${ns}.command.r1.crash`,
      ),
    ).toHaveLength(1);
  });

  it("sweeps an advisory the server published while no sweeper was running", async () => {
    const ref = await testConsumer("offline");
    const ack = await publishToStream(tb.bus, "command", command("cmd-offline"), {
      params: { run: "r1", target: "offline" },
    });
    expect(await deliverWithoutAck(ref.name, 2)).toEqual([1, 2]);
    const seen: string[] = [];
    const sub = tb.bus.nc.subscribe(maxDeliveriesSubject(commands(), ref.name), {
      callback: (_e, m) => {
        seen.push(m.subject);
      },
    });
    const pull = await waitingPull(ref.name);
    await expect.poll(() => seen.length).toBe(1);
    await pull.close();
    sub.unsubscribe();
    expect(await deadLettersOf(ack.seq)).toEqual([]);
    const watch = await watchMaxDeliveries(tb.bus, [ref]);
    await expect.poll(() => deadLettersOf(ack.seq), { timeout: 5_000 }).toHaveLength(1);
    await watch.stop();
    const [dl] = await deadLettersOf(ack.seq);
    expect(dl?.reason).toMatch(/not acknowledged after 2 deliveries/);
    expect(decode("AdaptationCommand", dl?.payload ?? new Uint8Array())).toEqual(command("cmd-offline"));
  });

  it("dead-letters a message that left the stream with an empty payload and a reason saying so", async () => {
    // The race where limits remove the message between the advisory and the read: the advisory is
    // sent here by the test, since nats-server 2.9.10 sends none for a message deleted while pending.
    const ref = await testConsumer("gone");
    const ack = await publishToStream(tb.bus, "command", command("cmd-gone"), {
      params: { run: "r1", target: "gone" },
    });
    expect(await deliverWithoutAck(ref.name, 2)).toEqual([1, 2]);
    await (await jetStreamManagerOf(tb.bus)).streams.deleteMessage(commands(), ack.seq);
    const watch = await watchMaxDeliveries(tb.bus, [ref]);
    const advisory = { stream: commands(), consumer: ref.name, stream_seq: ack.seq, deliveries: 2 };
    tb.bus.nc.publish(maxDeliveriesSubject(commands(), ref.name), JSON.stringify(advisory));
    await expect.poll(() => deadLettersOf(ack.seq), { timeout: 3_000 }).toHaveLength(1);
    await watch.stop();
    const [dl] = await deadLettersOf(ack.seq);
    expect(dl?.payload).toEqual(new Uint8Array());
    expect(dl?.deliveries).toBe(2);
    expect(dl?.consumer).toBe(ref.name);
    expect(dl?.originalSubject).toBe(maxDeliveriesSubject(commands(), ref.name));
    expect(dl?.reason).toMatch(/is no longer in stream .* payload and subject are lost/);
  });

  it("stores a message dead-lettered by the handler and by an advisory once", async () => {
    const ref = await testConsumer("both");
    const c = await consume(tb.bus, ref, () => {
      throw new Error("cannot apply");
    });
    const ack = await publishToStream(tb.bus, "command", command("cmd-both"), {
      params: { run: "r1", target: "both" },
    });
    await expect.poll(() => deadLettersOf(ack.seq)).toHaveLength(1);
    const advisory = { stream: commands(), consumer: ref.name, stream_seq: ack.seq, deliveries: 2 };
    tb.bus.nc.publish(maxDeliveriesSubject(commands(), ref.name), JSON.stringify(advisory));
    await expect
      .poll(() => events.some((e) => e.name === "bus.dead_letter_duplicate" && e.attributes.seq === ack.seq))
      .toBe(true);
    await c.stop();
    const letters = await deadLettersOf(ack.seq);
    expect(letters).toHaveLength(1);
    expect(letters[0]?.reason).toBe("handler failed: cannot apply");
    expect(
      events.filter(
        (e) => e.name === "bus.dead_lettered" && e.attributes.subject === `${ns}.command.r1.both`,
      ),
    ).toHaveLength(1);
  });

  it("reports a malformed advisory, naming the field", async () => {
    const ref = await testConsumer("bad-advisory");
    const watch = await watchMaxDeliveries(tb.bus, [ref]);
    tb.bus.nc.publish(
      maxDeliveriesSubject(commands(), ref.name),
      JSON.stringify({ stream: commands(), consumer: ref.name, deliveries: 2 }),
    );
    await expect
      .poll(() => events.find((e) => e.name === "bus.advisory_rejected")?.attributes.reason)
      .toMatch(/stream_seq/);
    await watch.stop();
  });
});
