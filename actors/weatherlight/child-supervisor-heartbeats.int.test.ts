import { describe, expect, it } from "vitest";
import { publish } from "../../bus/typed.ts";
import { useTestBus } from "../../test/bus-fixture.ts";
import { busHeartbeats } from "./child-supervisor-heartbeats.ts";

const tb = useTestBus("supervisor-heartbeats-test");

function beat(actor: string, instanceId: string): void {
  publish(
    tb.bus,
    "heartbeat",
    {
      actor,
      instanceId,
      runId: "run-a",
      pid: 42,
      state: "running",
      uptimeMs: 10,
      timestampMs: Date.now(),
      mailboxDepths: {},
    },
    { params: { actor } },
  );
}

async function settle(): Promise<void> {
  await tb.bus.nc.flush();
  await new Promise((r) => setTimeout(r, 200));
}

describe("busHeartbeats (real nats-server)", () => {
  it("reports the beats of the actor's instance in this run only, until stopped", async () => {
    let beats = 0;
    const watch = busHeartbeats(tb.bus, (actor) => `${actor}-run-a`)("urza", () => {
      beats += 1;
    });
    await tb.bus.nc.flush();
    beat("urza", "urza-run-a");
    beat("urza", "urza-run-b");
    beat("kasmina", "kasmina-run-a");
    beat("urza", "urza-run-a");
    await settle();
    expect(beats).toBe(2);
    watch.stop();
    await settle();
    beat("urza", "urza-run-a");
    await settle();
    expect(beats).toBe(2);
  });
});
