import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SystemLimits } from "../../contracts/budgets.ts";
import { decode, encode } from "../../contracts/codec.ts";
import type { MessageInput, MessageOf } from "../../contracts/registry.ts";
import { sampleOf } from "../../contracts/testing/samples.ts";
import { useTestBus } from "../../test/bus-fixture.ts";
import { consume } from "./consume.ts";
import { jetStreamManagerOf, jetStreamOf } from "./context.ts";
import { type ConsumerDeclaration, streamName, streams } from "./declarations.ts";
import { ensureConsumer } from "./ensure.ts";
import { MessageTooLargeError, publishToStream } from "./publish.ts";

const tb = useTestBus("size-test", { ensure: true });
const { ns } = tb;

/** A DeadLetter whose encoding is exactly `size` bytes (its payload carries the bulk, as bin 32). */
function deadLetterOfSize(size: number): MessageInput<"DeadLetter"> {
  const bare: MessageInput<"DeadLetter"> = {
    originalSubject: `${ns}.command.r1.sized`,
    stream: "sized",
    consumer: "sized",
    deliveries: 1,
    reason: "size test",
    headers: {},
    payload: new Uint8Array(),
    deadLetteredAt: 1_700_000_000_000,
    streamSequence: 1,
  };
  const overhead = encode("DeadLetter", bare).byteLength - 2 + 5;
  return { ...bare, payload: new Uint8Array(size - overhead).fill(7) };
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

describe("size limits", () => {
  it("leave the header budget below the server's max payload", () => {
    expect(SystemLimits.maxMessageSizeBytes + SystemLimits.maxHeaderBytes).toBe(
      SystemLimits.serverMaxPayloadBytes,
    );
    for (const decl of Object.values(streams)) {
      expect(decl.maxMsgSize).toBe(SystemLimits.serverMaxPayloadBytes);
      expect(decl.maxBytes).toBeGreaterThanOrEqual(16 * decl.maxMsgSize);
    }
  });

  it("store the largest codec-valid message with its headers", async () => {
    const largest = deadLetterOfSize(SystemLimits.maxMessageSizeBytes);
    expect(encode("DeadLetter", largest).byteLength).toBe(SystemLimits.maxMessageSizeBytes);
    const ack = await publishToStream(tb.bus, "deadLetter", largest, {
      params: { stream: "sized" },
      messageId: "sized-largest",
      correlationId: "c".repeat(SystemLimits.maxIdLength),
    });
    const stored = await (await jetStreamManagerOf(tb.bus)).streams.getMessage(ack.stream, { seq: ack.seq });
    expect(stored?.data.byteLength).toBe(SystemLimits.maxMessageSizeBytes);
  });

  it("refuse a message one byte over the codec limit with a clear error", async () => {
    await expect(
      publishToStream(tb.bus, "deadLetter", deadLetterOfSize(SystemLimits.maxMessageSizeBytes + 1), {
        params: { stream: "sized" },
        messageId: "sized-over",
      }),
    ).rejects.toThrow(`exceeds the limit of ${SystemLimits.maxMessageSizeBytes} bytes`);
  });

  it("refuse headers over the header budget before sending", async () => {
    const err = await publishToStream(tb.bus, "deadLetter", deadLetterOfSize(1000), {
      params: { stream: "sized" },
      messageId: "sized-headers",
      correlationId: "c".repeat(SystemLimits.maxHeaderBytes),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MessageTooLargeError);
    expect((err as Error).message).toMatch(/over the header budget of 4096 bytes/);
  });

  it("dead-letter an oversized stored message with its size and sha256 instead of its payload", async () => {
    const declaration = {
      stream: "commands",
      subject: "command",
      params: { target: "big" },
      ackWaitMs: 2_000,
      maxDeliver: 2,
      maxAckPending: 1,
      retryDelayMs: 20,
      replayWindowMs: 60_000,
    } as const satisfies ConsumerDeclaration;
    await ensureConsumer(tb.bus, await jetStreamManagerOf(tb.bus), "size-big", declaration);
    const handled: string[] = [];
    const c = await consume(tb.bus, { name: "size-big", declaration }, (m) => {
      handled.push(m.commandId);
    });
    const subject = `${ns}.command.r1.big`;
    const big = new Uint8Array(SystemLimits.maxMessageSizeBytes + 1000).fill(1);
    await jetStreamOf(tb.bus).publish(subject, big, { msgID: "big-1" });
    await publishToStream(
      tb.bus,
      "command",
      { ...sampleOf("AdaptationCommand", 1), trainingRunId: "r1", commandId: "cmd-after-big" },
      { params: { run: "r1", target: "big" } },
    );
    await expect.poll(() => handled).toEqual(["cmd-after-big"]);
    await expect.poll(() => deadLettersFrom(subject)).toHaveLength(1);
    await c.stop();
    const [dl] = await deadLettersFrom(subject);
    expect(dl?.payload).toEqual(new Uint8Array());
    expect(dl?.omittedPayload).toEqual({
      size: big.byteLength,
      sha256: createHash("sha256").update(big).digest("hex"),
    });
    expect(dl?.reason).toMatch(/^invalid payload: .*exceeds the limit.*; payload of 1045480 bytes left out/);
  });
});
