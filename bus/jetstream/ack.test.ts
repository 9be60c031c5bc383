import { describe, expect, it } from "vitest";
import { sampleOf } from "../../contracts/testing/samples.ts";
import { useTestBus } from "../../test/bus-fixture.ts";
import { consume } from "./consume.ts";
import { jetStreamManagerOf } from "./context.ts";
import { type ConsumerDeclaration, streamName } from "./declarations.ts";
import { ensureConsumer } from "./ensure.ts";
import { publishToStream } from "./publish.ts";

const tb = useTestBus("ack-test", { ensure: true });
const { events, ns } = tb;

describe("acks", () => {
  it("wait for the server's confirmation and report one that never comes", async () => {
    const declaration = {
      stream: "commands",
      subject: "command",
      params: { target: "ack" },
      ackWaitMs: 1_000,
      maxDeliver: 2,
      maxAckPending: 1,
      retryDelayMs: 20,
      replayWindowMs: 60_000,
    } as const satisfies ConsumerDeclaration;
    await ensureConsumer(tb.bus, await jetStreamManagerOf(tb.bus), "ack-test", declaration);
    let handled = 0;
    const c = await consume(tb.bus, { name: "ack-test", declaration }, async () => {
      handled++;
      await tb.server.kill();
    });
    await publishToStream(
      tb.bus,
      "command",
      { ...sampleOf("AdaptationCommand", 1), trainingRunId: "r1", commandId: "cmd-ack" },
      { params: { run: "r1", target: "ack" } },
    );
    await expect
      .poll(() => events.find((e) => e.name === "bus.ack_unconfirmed")?.attributes, { timeout: 15_000 })
      .toMatchObject({ consumer: `${streamName(ns, "commands")}/ack-test`, subject: `${ns}.command.r1.ack` });
    expect(handled).toBe(1);
    await tb.server.restart();
    await c.stop(100);
  }, 30_000);
});
