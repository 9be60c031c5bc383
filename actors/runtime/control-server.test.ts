import { describe, expect, it } from "vitest";
import { request } from "../../bus/typed.ts";
import { validate } from "../../contracts/codec.ts";
import type { ControlRequest } from "../../contracts/messages/runtime.ts";
import { useTestBus } from "../../test/bus-fixture.ts";
import { type ControlRefusal, serveControl, signedControlRequest } from "./control-server.ts";

const KEY = "control-test-signing-key-0123456789";
const tb = useTestBus("control-test");

function server(instanceId: string, signingKey: string | undefined) {
  const drains: string[] = [];
  const refusals: ControlRefusal[] = [];
  const control = serveControl({
    bus: tb.bus,
    actor: "ctl",
    instanceId,
    signingKey,
    security: () => validate("WorkerSettings", {}).security,
    state: () => "running",
    status: () => ({ instanceId, tasks: ["loop"] }),
    drain: (reason) => void drains.push(reason),
    onRefused: (r) => void refusals.push(r),
  });
  return { control, drains, refusals };
}

const toInstance = (instance: string, req: ControlRequest) =>
  request(tb.bus, "controlInstance", req, { params: { actor: "ctl", instance }, timeoutMs: 5_000 });

describe("control server (real nats-server)", () => {
  it("answers ping and status openly, on the instance subject and to every instance", async () => {
    const a = server("a", KEY);
    try {
      await tb.bus.nc.flush();
      expect(await toInstance("a", { requestId: "p", verb: "ping" })).toMatchObject({
        ok: true,
        message: "pong",
        instanceId: "a",
      });
      const status = await request(
        tb.bus,
        "control",
        { requestId: "s", verb: "status" },
        { params: { actor: "ctl" }, timeoutMs: 5_000 },
      );
      expect(status.ok).toBe(true);
      expect(JSON.parse(status.message)).toEqual({ instanceId: "a", tasks: ["loop"] });
      expect(a.refusals).toEqual([]);
    } finally {
      await a.control.stop(1_000);
    }
  });

  it("refuses an unsigned, badly signed, stale, future, replayed or broadcast drain, and accepts a signed one", async () => {
    const a = server("a", KEY);
    try {
      await tb.bus.nc.flush();
      const refused = async (req: ControlRequest, reason: RegExp, on: "a" | "all" = "a") => {
        const reply =
          on === "a"
            ? await toInstance("a", req)
            : await request(tb.bus, "control", req, { params: { actor: "ctl" }, timeoutMs: 5_000 });
        expect(reply.ok).toBe(false);
        expect(reply.message).toMatch(reason);
      };
      await refused({ requestId: "u", verb: "drain" }, /must be signed/);
      await refused(signedControlRequest("drain", "another-key-0123456789abcdef"), /signature is invalid/);
      const unsignedSecurity = signedControlRequest("drain", KEY);
      await refused(
        {
          ...unsignedSecurity,
          security: {
            ...(unsignedSecurity.security as NonNullable<ControlRequest["security"]>),
            signature: "",
          },
        },
        /signature is empty/,
      );
      await refused(signedControlRequest("drain", KEY, { issuedAt: Date.now() - 120_000 }), /stale/);
      await refused(signedControlRequest("drain", KEY, { issuedAt: Date.now() + 60_000 }), /in the future/);
      await refused(signedControlRequest("drain", KEY), /addressed to one instance/, "all");
      expect(a.drains).toEqual([]);
      expect(a.control.refused()).toBe(6);
      expect(a.refusals.map((r) => r.verb)).toEqual(["drain", "drain", "drain", "drain", "drain", "drain"]);
      const signed = signedControlRequest("drain", KEY, { requestId: "go" });
      expect(await toInstance("a", signed)).toMatchObject({ ok: true, message: "draining" });
      expect(a.drains).toEqual(["control request go"]);
      await refused(signed, /already used/);
      expect(a.drains).toHaveLength(1);
    } finally {
      await a.control.stop(1_000);
    }
  });

  it("an instance without a signing key refuses every signed verb", async () => {
    const b = server("b", undefined);
    try {
      await tb.bus.nc.flush();
      const reply = await toInstance("b", signedControlRequest("drain", KEY));
      expect(reply).toMatchObject({ ok: false });
      expect(reply.message).toMatch(/no ESPER_SIGNING_KEY/);
      expect(b.drains).toEqual([]);
    } finally {
      await b.control.stop(1_000);
    }
  });
});
