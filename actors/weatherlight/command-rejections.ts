import type { TelemetryPacket } from "../../contracts/messages/telemetry.ts";
import type { CommandRejectionSeen, CommandRejectionsHealth } from "./system-health-schema.ts";

/** The event of an actor refusing an AdaptationCommand: `kasmina.command.rejected`, `tolaria.command.rejected`. */
export const COMMAND_REJECTED_EVENT = /^[a-z][a-z0-9-]*\.command\.rejected$/;

/** How many rejections `/healthz` lists by default. */
export const DEFAULT_REJECTIONS_KEPT = 20;

/**
 * The command rejections Weatherlight's router has taken in (pure: fed packets): every event named
 * `<actor>.command.rejected` (Kasmina's verifier and seed controller, Tolaria's intake), counted, the
 * last `capacity` kept with the packet's time and source, the `commandId`, `reason` and `detail`
 * attributes (null when the event lacks one; `detail` falls back to the event's description, which
 * Kasmina's verifier uses for it).
 */
export class CommandRejections {
  private readonly kept: CommandRejectionSeen[] = [];
  private total = 0;

  constructor(private readonly capacity: number = DEFAULT_REJECTIONS_KEPT) {
    if (!(Number.isInteger(capacity) && capacity >= 1))
      throw new RangeError(`capacity must be an integer >= 1, got ${capacity}`);
  }

  /** Counts and keeps the command rejections among `packet`'s events. */
  observe(packet: TelemetryPacket): void {
    for (const event of packet.events) {
      if (!COMMAND_REJECTED_EVENT.test(event.eventId)) continue;
      this.total++;
      const attributes = event.attributes ?? {};
      this.kept.push({
        atMs: packet.timestampMs,
        actor: packet.sourceSubsystem,
        eventId: event.eventId,
        commandId: attributes.commandId ?? null,
        reason: attributes.reason ?? null,
        detail: attributes.detail ?? event.description,
      });
      if (this.kept.length > this.capacity) this.kept.shift();
    }
  }

  /** The count since start and the kept rejections, newest first. */
  health(): CommandRejectionsHealth {
    return { total: this.total, recent: [...this.kept].reverse() };
  }
}
