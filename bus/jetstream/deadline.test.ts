import { describe, expect, it } from "vitest";
import { decode } from "../../contracts/codec.ts";
import type { MessageInput, MessageOf } from "../../contracts/registry.ts";
import { sampleOf } from "../../contracts/testing/samples.ts";
import { useTestBus } from "../../test/bus-fixture.ts";
import { consume, HandlerDeadlineError } from "./consume.ts";
import { jetStreamManagerOf } from "./context.ts";
import { type ConsumerDeclaration, streamName } from "./declarations.ts";
import { ensureConsumer } from "./ensure.ts";
import { publishToStream } from "./publish.ts";

const tb = useTestBus("deadline-test", { ensure: true });
const { events, ns } = tb;

function command(id: string): MessageInput<"AdaptationCommand"> {
  return { ...sampleOf("AdaptationCommand", 1), trainingRunId: "r1", commandId: id };
}

/** A command consumer with the production settings of the issue: one in flight, 300 ms ack wait, two deliveries. */
async function productionLike(target: string) {
  const declaration = {
    stream: "commands",
    subject: "command",
    params: { target },
    ackWaitMs: 300,
    maxDeliver: 2,
    maxAckPending: 1,
    retryDelayMs: 20,
    replayWindowMs: 60_000,
  } as const satisfies ConsumerDeclaration;
  const name = `dl-${target}`;
  await ensureConsumer(tb.bus, await jetStreamManagerOf(tb.bus), name, declaration);
  return { name, declaration };
}

async function deadLettersFrom(subject: string): Promise<MessageOf<"DeadLetter">[]> {
  const jsm = await jetStreamManagerOf(tb.bus);
  const stream = streamName(ns, "deadLetters");
  const info = await jsm.streams.info(stream);
  const out: MessageOf<"DeadLetter">[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (m === null) continue;
    const dl = decode("DeadLetter", m.data);
    if (dl.originalSubject === subject) out.push(dl);
  }
  return out;
}

describe("handler deadline", () => {
  it("dead-letters a hung handler's message, aborts its signal, and handles the next messages", async () => {
    const ref = await productionLike("hung");
    const handled: string[] = [];
    let hungSignal: AbortSignal | undefined;
    const c = await consume(
      tb.bus,
      ref,
      (m, ctx) => {
        if (m.commandId === "cmd-hung") {
          hungSignal = ctx.signal;
          return new Promise<void>(() => {});
        }
        handled.push(m.commandId);
        return undefined;
      },
      { handlerDeadlineMs: 200 },
    );
    const target = { params: { run: "r1", target: "hung" } };
    const hung = await publishToStream(tb.bus, "command", command("cmd-hung"), target);
    await publishToStream(tb.bus, "command", command("cmd-next-1"), target);
    await publishToStream(tb.bus, "command", command("cmd-next-2"), target);
    await expect.poll(() => handled, { timeout: 5_000 }).toEqual(["cmd-next-1", "cmd-next-2"]);
    const letters = await deadLettersFrom(`${ns}.command.r1.hung`);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ streamSequence: hung.seq, deliveries: 1, consumer: ref.name });
    expect(letters[0]?.reason).toMatch(/deadline of 200 ms/);
    expect(hungSignal?.aborted).toBe(true);
    expect(hungSignal?.reason).toBeInstanceOf(HandlerDeadlineError);
    expect(events.find((e) => e.name === "bus.handler_deadline")?.attributes).toMatchObject({
      consumer: `${streamName(ns, "commands")}/${ref.name}`,
      seq: hung.seq,
      deadlineMs: 200,
    });
    await c.stop(50);
    const info = await (await jetStreamManagerOf(tb.bus)).consumers.info(
      streamName(ns, "commands"),
      ref.name,
    );
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
  });

  it("lets a handler that calls ctx.working() run past its deadline and the ack wait, delivered once", async () => {
    const ref = await productionLike("slow");
    const deliveries: number[] = [];
    const c = await consume(
      tb.bus,
      ref,
      async (_m, ctx) => {
        deliveries.push(ctx.deliveryCount);
        for (let i = 0; i < 8; i++) {
          await new Promise((r) => setTimeout(r, 100));
          ctx.working();
        }
      },
      { handlerDeadlineMs: 200 },
    );
    const ack = await publishToStream(tb.bus, "command", command("cmd-slow"), {
      params: { run: "r1", target: "slow" },
    });
    await expect
      .poll(async () =>
        (await jetStreamManagerOf(tb.bus)).consumers.info(streamName(ns, "commands"), ref.name),
      )
      .toMatchObject({ num_ack_pending: 0, num_pending: 0 });
    await c.stop();
    expect(deliveries).toEqual([1]);
    expect(await deadLettersFrom(`${ns}.command.r1.slow`)).toEqual([]);
    expect(events.some((e) => e.name === "bus.handler_deadline" && e.attributes.seq === ack.seq)).toBe(false);
  });

  it("keeps a handler within a deadline longer than the ack wait from being redelivered", async () => {
    const ref = await productionLike("long");
    const deliveries: number[] = [];
    const c = await consume(
      tb.bus,
      ref,
      async (_m, ctx) => {
        deliveries.push(ctx.deliveryCount);
        await new Promise((r) => setTimeout(r, 900));
      },
      { handlerDeadlineMs: 3_000 },
    );
    await publishToStream(tb.bus, "command", command("cmd-long"), { params: { run: "r1", target: "long" } });
    await expect
      .poll(
        async () => (await jetStreamManagerOf(tb.bus)).consumers.info(streamName(ns, "commands"), ref.name),
        {
          timeout: 5_000,
        },
      )
      .toMatchObject({ num_ack_pending: 0, num_pending: 0, delivered: { consumer_seq: 1 } });
    await c.stop();
    expect(deliveries).toEqual([1]);
    expect(await deadLettersFrom(`${ns}.command.r1.long`)).toEqual([]);
  });
});
