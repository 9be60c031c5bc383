import { describe, expect, it } from "vitest";
import { decode, encode } from "../../contracts/codec.ts";
import { HealthStatus, MessagePriority, TelemetryLevel } from "../../contracts/enums.ts";
import { ContractError } from "../../contracts/errors.ts";
import type { TelemetryPacket } from "../../contracts/messages/telemetry.ts";
import { priorityForLevel, TelemetryEmitter, TelemetryNameError } from "./telemetry.ts";

function collector() {
  const packets: TelemetryPacket[] = [];
  // Round-trip through the codec: every packet must be a valid wire message.
  const publish = async (p: TelemetryPacket) => {
    packets.push(decode("TelemetryPacket", encode("TelemetryPacket", p)));
  };
  return { packets, publish };
}

describe("TelemetryEmitter", () => {
  it("derives priority from level", () => {
    expect(priorityForLevel("CRITICAL")).toBe("CRITICAL");
    expect(priorityForLevel("ERROR")).toBe("HIGH");
    expect(priorityForLevel("WARNING")).toBe("HIGH");
    expect(priorityForLevel("INFO")).toBe("NORMAL");
  });

  it("batches metrics, health and events into one packet per (level, priority)", async () => {
    const { packets, publish } = collector();
    const t = new TelemetryEmitter({ actor: "kasmina", publish });
    t.metric("kasmina.gate.checks_total", 3);
    t.metric("kasmina.gate.latency_ms", 1.5, { unit: "ms" });
    t.health("DEGRADED", "one gate slow", { slow_gate: "g2" });
    t.event("kasmina.gate.passed", { level: "INFO", description: "g1 passed" });
    t.event("kasmina.gate.slow", { level: "WARNING", description: "g2 slow" });
    t.event("kasmina.gate.info_but_urgent", { level: "INFO", description: "x", priority: "HIGH" });
    expect(packets).toHaveLength(0);
    await t.flush();
    expect(packets).toHaveLength(3);
    const info = packets.find(
      (p) => p.level === TelemetryLevel.INFO && p.priority === MessagePriority.NORMAL,
    );
    expect(info?.metrics.map((m) => m.name)).toEqual([
      "kasmina.gate.checks_total",
      "kasmina.gate.latency_ms",
    ]);
    expect(info?.events.map((e) => e.eventId)).toEqual(["kasmina.gate.passed"]);
    expect(info?.systemHealth).toEqual({
      status: HealthStatus.DEGRADED,
      summary: "one gate slow",
      indicators: { slow_gate: "g2" },
    });
    expect(info?.sourceSubsystem).toBe("kasmina");
    const warn = packets.find((p) => p.level === TelemetryLevel.WARNING);
    expect(warn).toMatchObject({
      priority: MessagePriority.HIGH,
      metrics: [],
      events: [{ eventId: "kasmina.gate.slow" }],
    });
    const urgent = packets.find(
      (p) => p.level === TelemetryLevel.INFO && p.priority === MessagePriority.HIGH,
    );
    expect(urgent?.events).toHaveLength(1);
    await t.flush();
    expect(packets).toHaveLength(3);
  });

  it("publishes a CRITICAL event at once", async () => {
    const { packets, publish } = collector();
    const t = new TelemetryEmitter({ actor: "tamiyo", publish });
    t.event("tamiyo.command.rejected", { level: "CRITICAL", description: "bad signature" });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(packets).toHaveLength(1);
    expect(packets[0]).toMatchObject({ level: TelemetryLevel.CRITICAL, priority: MessagePriority.CRITICAL });
  });

  it("refuses names outside <actor>.<area>.<name> and invalid items at the call site", () => {
    const t = new TelemetryEmitter({ actor: "urza", publish: async () => {} });
    expect(() => t.metric("urza.hits", 1)).toThrow(TelemetryNameError);
    expect(() => t.metric("kasmina.cache.hits", 1)).toThrow("must be 'urza.<area>.<name>'");
    expect(() => t.metric("urza.Cache.hits", 1)).toThrow(TelemetryNameError);
    expect(() => t.metric("urza.cache.hits", Number.NaN)).toThrow(ContractError);
    expect(t.emitterStats().pendingItems).toBe(0);
  });

  it("keeps a packet whose publish failed for the next flush, and counts drops beyond the buffer", async () => {
    let fail = true;
    const sent: TelemetryPacket[] = [];
    const t = new TelemetryEmitter({
      actor: "tolaria",
      maxPendingItems: 3,
      publish: async (p) => {
        if (fail) throw new Error("no connection");
        sent.push(p);
      },
    });
    t.metric("tolaria.train.loss", 0.5);
    t.metric("tolaria.train.loss", 0.4);
    t.metric("tolaria.train.loss", 0.3);
    t.metric("tolaria.train.loss", 0.2); // over the buffer: dropped
    await t.flush();
    expect(t.emitterStats()).toMatchObject({ publishFailures: 1, droppedItems: 1, pendingItems: 3 });
    fail = false;
    await t.flush();
    expect(sent.flatMap((p) => p.metrics.map((m) => [m.name, m.value]))).toEqual([
      ["tolaria.train.loss", 0.5],
      ["tolaria.train.loss", 0.4],
      ["tolaria.train.loss", 0.3],
      ["tolaria.telemetry.dropped_total", 1],
    ]);
  });

  it("splits more items than a packet may hold", async () => {
    const { packets, publish } = collector();
    const t = new TelemetryEmitter({ actor: "urza", publish, maxPendingItems: 5000 });
    for (let i = 0; i < 1500; i++) t.metric("urza.cache.size", i);
    await t.flush();
    expect(packets.map((p) => p.metrics.length)).toEqual([1024, 476]);
  });
});
