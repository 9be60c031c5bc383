import { Encoder } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { extensionCodec } from "../contracts/codec.ts";
import { sampleOf } from "../contracts/testing/samples.ts";
import { useTestBus } from "../test/bus-fixture.ts";
import { consume } from "./jetstream/consume.ts";
import { jetStreamManagerOf, jetStreamOf } from "./jetstream/context.ts";
import type { ConsumerDeclaration } from "./jetstream/declarations.ts";
import { ensureConsumer } from "./jetstream/ensure.ts";
import { publishToStream } from "./jetstream/publish.ts";
import { fieldLabel } from "./metric-labels.ts";
import { BusMetrics } from "./metrics.ts";

const tb = useTestBus("metrics-test", { ensure: true });
const { ns } = tb;
const raw = new Encoder({ extensionCodec, ignoreUndefined: true });

describe("metric labels", () => {
  it("stay bounded under a flood of distinct subjects and unknown keys", async () => {
    const declaration = {
      stream: "commands",
      subject: "command",
      ackWaitMs: 5_000,
      maxDeliver: 2,
      maxAckPending: 64,
      retryDelayMs: 20,
      replayWindowMs: 60_000,
    } as const satisfies ConsumerDeclaration;
    await ensureConsumer(tb.bus, await jetStreamManagerOf(tb.bus), "labels-all", declaration);
    let handled = 0;
    const c = await consume(tb.bus, { name: "labels-all", declaration }, () => {
      handled++;
    });
    const flood = 60;
    const command = sampleOf("AdaptationCommand", 1);
    for (let i = 0; i < flood; i++) {
      const run = `run-${i}`;
      const bad = raw.encode({ ...command, commandId: `bad-${i}`, [`made-up-${i}`]: i });
      await jetStreamOf(tb.bus).publish(`${ns}.command.${run}.kasmina`, bad, { msgID: `bad-${i}` });
      await publishToStream(
        tb.bus,
        "command",
        { ...command, trainingRunId: run, commandId: `good-${i}` },
        { params: { run, target: "kasmina" } },
      );
    }
    await expect.poll(() => handled, { timeout: 10_000 }).toBe(flood);
    await expect
      .poll(() => tb.bus.metrics.snapshot().deadLettered["command.{run}.{target}"], { timeout: 10_000 })
      .toBe(flood);
    await c.stop();
    const snap = tb.bus.metrics.snapshot();
    expect(snap.rejected).toEqual({ "command.{run}.{target} unknown_key": flood });
    expect(snap.received).toEqual({ "command.{run}.{target}": flood });
    expect(Object.keys(snap.published).sort()).toEqual(["command.{run}.{target}", "deadletter.{stream}"]);
    expect(snap.published["command.{run}.{target}"]).toBe(flood);
  });

  it("label unregistered subjects unknown_subject", () => {
    const m = new BusMetrics();
    for (let i = 0; i < 100; i++) m.published(`x.nowhere.${i}`);
    expect(m.snapshot().published).toEqual({ unknown_subject: 100 });
  });

  it("keep declared field names, index arrays as [] and drop made-up keys", () => {
    expect(fieldLabel("SystemStatePacket", ["seedStates", 7, "stage"])).toBe("seedStates[].stage");
    expect(fieldLabel("SystemStatePacket", ["seedStates", 7, "made-up", "deeper"])).toBe(
      "seedStates[].unknown_key",
    );
    expect(fieldLabel("SystemStatePacket", ["made-up"])).toBe("unknown_key");
    expect(fieldLabel("SystemStatePacket", [])).toBe("<root>");
    expect(fieldLabel("SystemStatePacket", ["header:Esper-Message-Type"])).toBe("header:Esper-Message-Type");
    expect(fieldLabel("AdaptationCommand", ["payload", "operation"])).toBe("payload.operation");
  });
});
