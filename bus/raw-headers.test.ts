import { type Msg, MsgHdrsImpl, MsgImpl, TE } from "@nats-io/transport-node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encode } from "../contracts/codec.ts";
import { HeaderNames } from "../contracts/headers.ts";
import type { MessageInput } from "../contracts/registry.ts";
import { sampleOf } from "../contracts/testing/samples.ts";
import { useTestBus } from "../test/bus-fixture.ts";
import { headerOf } from "./headers.ts";
import { messageHeader } from "./raw-headers.ts";
import { subscribe } from "./typed.ts";

/** A received message as nats.js builds it: header bytes, then the payload. */
function received(block: Uint8Array | undefined, payload = new Uint8Array([1, 2, 3])): Msg {
  const data = new Uint8Array((block?.length ?? 0) + payload.length);
  if (block !== undefined) data.set(block);
  data.set(payload, block?.length ?? 0);
  const arg = { subject: TE.encode("s"), sid: 1, hdr: block?.length ?? -1, size: data.length };
  // MsgImpl's optional fields are typed without `| undefined`, so it only fits Msg through unknown.
  return new MsgImpl(arg, data, { publish: () => {} }) as unknown as Msg;
}

/** What nats.js's own parse returns for header `name`, or the error it throws. */
function viaNats(block: Uint8Array, name: string): string | Error {
  try {
    return headerOf(MsgHdrsImpl.decode(block), name);
  } catch (err) {
    return err as Error;
  }
}

function viaRaw(m: Msg, name: string): string | Error {
  try {
    return messageHeader(m, name);
  } catch (err) {
    return err as Error;
  }
}

const NAME = "Esper-Message-Type";

describe("messageHeader", () => {
  it("reads what nats.js's header parse reads, for any block", () => {
    const piece = fc.constantFrom(
      "NATS/1.0",
      "NATS/1.0 503",
      "\r\n",
      "\r",
      "\n",
      ":",
      " ",
      "\t",
      "\u00a0",
      "é",
      NAME,
      `${NAME}:`,
      `\r\n${NAME}:`,
      `\r\n${NAME}: TelemetryPacket\r\n`,
      `${NAME.toLowerCase()}:`,
      "Other",
      "TelemetryPacket",
      "bad key",
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 14 }), (pieces) => {
        const block = TE.encode(pieces.join(""));
        const nats = viaNats(block, NAME);
        const raw = viaRaw(received(block), NAME);
        if (nats instanceof Error) expect(raw).toBeInstanceOf(Error);
        else expect(raw).toBe(nats);
      }),
      { seed: 4242, numRuns: 3000 },
    );
  });

  it("returns '' without headers and reads a message that is not a MsgImpl through m.headers", () => {
    expect(messageHeader(received(undefined), NAME)).toBe("");
    const h = new MsgHdrsImpl();
    h.set(NAME, "Heartbeat");
    const plain = { headers: h } as unknown as Msg;
    expect(messageHeader(plain, NAME)).toBe("Heartbeat");
    expect(messageHeader({ headers: undefined } as unknown as Msg, NAME)).toBe("");
  });
});

describe("header checks on received messages", () => {
  const tb = useTestBus("raw-headers-test");
  const { ns } = tb;

  it("rejects a foreign contract version with the header path and accepts the same version spelled differently", async () => {
    const got: number[] = [];
    const sub = subscribe(tb.bus, "heartbeat", (m) => void got.push(m.pid), { params: { actor: "ver" } });
    await tb.bus.nc.flush();
    const subject = `${ns}.heartbeat.ver`;
    const send = (version: string, pid: number): void => {
      const h = new MsgHdrsImpl();
      h.set(HeaderNames.contractVersion, version);
      h.set(HeaderNames.messageType, "Heartbeat");
      const hb: MessageInput<"Heartbeat"> = {
        ...sampleOf("Heartbeat", pid),
        pid,
        actor: "ver",
        runId: undefined,
      };
      tb.bus.nc.publish(subject, encode("Heartbeat", hb), { headers: h });
    };
    send("99", 11);
    send("1.0", 12);
    await expect.poll(() => got).toEqual([12]);
    expect(
      tb.bus.metrics.snapshot().rejected[`heartbeat.{actor} header:${HeaderNames.contractVersion}`],
    ).toBe(1);
    await sub.stop();
  });
});
