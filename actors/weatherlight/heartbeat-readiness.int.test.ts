import { describe, expect, it } from "vitest";
import { publish } from "../../bus/typed.ts";
import type { Heartbeat } from "../../contracts/messages/runtime.ts";
import { useTestBus } from "../../test/bus-fixture.ts";
import { heartbeatReadiness } from "./heartbeat-readiness.ts";

const tb = useTestBus("readiness-test");

function beat(instanceId: string, state: Heartbeat["state"]): void {
  publish(
    tb.bus,
    "heartbeat",
    {
      actor: "tolaria",
      instanceId,
      runId: "run-a",
      pid: 42,
      state,
      uptimeMs: 10,
      timestampMs: Date.now(),
      mailboxDepths: {},
    },
    { params: { actor: "tolaria" } },
  );
}

describe("heartbeatReadiness (real nats-server)", () => {
  it("resolves on the expected instance's `running` beat only, not another run's or an earlier state", async () => {
    const waitReady = heartbeatReadiness(tb.bus, (actor) => `${actor}-run-a`);
    let ready = false;
    const waiting = waitReady("tolaria", new AbortController().signal).then(() => {
      ready = true;
    });
    await tb.bus.nc.flush();
    beat("tolaria-run-b", "running");
    beat("tolaria-run-a", "starting");
    await tb.bus.nc.flush();
    await new Promise((r) => setTimeout(r, 200));
    expect(ready).toBe(false);
    beat("tolaria-run-a", "running");
    await waiting;
    expect(ready).toBe(true);
  });

  it("rejects when its signal aborts first", async () => {
    const abort = new AbortController();
    const waiting = heartbeatReadiness(tb.bus, () => "never")("urza", abort.signal);
    abort.abort();
    await expect(waiting).rejects.toThrow("stopped waiting for urza (never) to be running");
  });
});
