import { describe, expect, it } from "vitest";
import { MessagePriority, TelemetryLevel } from "../../contracts/enums.ts";
import type { TelemetryEvent, TelemetryPacket } from "../../contracts/messages/telemetry.ts";
import { CommandRejections } from "./command-rejections.ts";
import { CommandRejectionsHealth } from "./system-health-schema.ts";

let packetNo = 0;
function packet(source: string, atMs: number, events: TelemetryEvent[]): TelemetryPacket {
  return {
    packetId: `p-${++packetNo}`,
    timestampMs: atMs,
    sourceSubsystem: source,
    level: TelemetryLevel.CRITICAL,
    priority: MessagePriority.CRITICAL,
    metrics: [],
    events,
    spans: [],
  };
}

const rejected = (
  actor: string,
  attributes: Record<string, string>,
  description = "refused",
): TelemetryEvent => ({
  eventId: `${actor}.command.rejected`,
  description,
  level: TelemetryLevel.CRITICAL,
  attributes,
});

describe("CommandRejections", () => {
  it("keeps only <actor>.command.rejected events, with command id, reason and detail, newest first", () => {
    const memory = new CommandRejections();
    memory.observe(
      packet("tolaria", 1_000, [
        { eventId: "tolaria.command.applied", description: "ok", level: TelemetryLevel.INFO },
        rejected("tolaria", { commandId: "c-1", reason: "stale_command", detail: "issued 90 s ago" }),
      ]),
    );
    memory.observe(
      packet("kasmina", 2_000, [
        rejected(
          "kasmina",
          { commandId: "c-2", reason: "invalid_signature" },
          "command c-2 refused: invalid_signature: HMAC mismatch",
        ),
        { eventId: "kasmina.command.rejected_total", description: "not one", level: TelemetryLevel.INFO },
      ]),
    );
    const health = memory.health();
    expect(CommandRejectionsHealth.parse(health)).toEqual(health);
    expect(health).toEqual({
      total: 2,
      recent: [
        {
          atMs: 2_000,
          actor: "kasmina",
          eventId: "kasmina.command.rejected",
          commandId: "c-2",
          reason: "invalid_signature",
          detail: "command c-2 refused: invalid_signature: HMAC mismatch",
        },
        {
          atMs: 1_000,
          actor: "tolaria",
          eventId: "tolaria.command.rejected",
          commandId: "c-1",
          reason: "stale_command",
          detail: "issued 90 s ago",
        },
      ],
    });
  });

  it("keeps the last `capacity`, counts every one, and says null for a missing id or reason", () => {
    const memory = new CommandRejections(2);
    for (let i = 1; i <= 3; i++)
      memory.observe(packet("kasmina", i, [rejected("kasmina", { commandId: `c-${i}` })]));
    const health = memory.health();
    expect(health.total).toBe(3);
    expect(health.recent.map((r) => [r.commandId, r.reason])).toEqual([
      ["c-3", null],
      ["c-2", null],
    ]);
    expect(() => new CommandRejections(0)).toThrow(/capacity must be an integer >= 1/);
  });
});
