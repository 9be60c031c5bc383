import { randomUUID } from "node:crypto";
import { SystemLimits } from "../../contracts/budgets.ts";
import { validate } from "../../contracts/codec.ts";
import { HealthStatus, MessagePriority, TelemetryLevel } from "../../contracts/enums.ts";
import type {
  MetricPoint,
  SystemHealth,
  TelemetryEvent,
  TelemetryPacket,
} from "../../contracts/messages/telemetry.ts";

/** A telemetry level by name (UNSPECIFIED is not a level one can emit). */
export type LevelName = Exclude<keyof typeof TelemetryLevel, "UNSPECIFIED">;
/** A routing priority by name. */
export type PriorityName = Exclude<keyof typeof MessagePriority, "UNSPECIFIED">;

/** The priority derived from a level: CRITICAL → CRITICAL, WARNING/ERROR → HIGH, INFO → NORMAL. */
export function priorityForLevel(level: LevelName): PriorityName {
  if (level === "CRITICAL") return "CRITICAL";
  if (level === "WARNING" || level === "ERROR") return "HIGH";
  return "NORMAL";
}

/** A metric or event name that does not follow `<actor>.<area>.<name>`. */
export class TelemetryNameError extends Error {
  override readonly name = "TelemetryNameError";
}

/** Publishes one packet; rejects when it could not be published. */
export type PacketPublisher = (packet: TelemetryPacket) => Promise<void>;

/** How a TelemetryEmitter is built. */
export interface TelemetryEmitterOptions {
  /** The actor name: first token of every metric and event name, and the packets' `sourceSubsystem`. */
  readonly actor: string;
  readonly publish: PacketPublisher;
  /** Most metrics plus events held between flushes; beyond it items are dropped and counted. Default 4096. */
  readonly maxPendingItems?: number;
}

/** Options of one event. */
export interface EventOptions {
  readonly level: LevelName;
  readonly description: string;
  readonly attributes?: Readonly<Record<string, string>>;
  /** Overrides the priority derived from the level. */
  readonly priority?: PriorityName;
}

/** Counters of the emitter itself. */
export interface EmitterStats {
  readonly packetsPublished: number;
  readonly publishFailures: number;
  /** Items dropped because the pending buffer was full (reported in the next packet). */
  readonly droppedItems: number;
  readonly pendingItems: number;
}

interface Group {
  level: LevelName;
  priority: PriorityName;
  metrics: MetricPoint[];
  events: TelemetryEvent[];
  health: SystemHealth | undefined;
}

/**
 * Collects metrics, events and health into TelemetryPackets and publishes them on `flush` (the actor
 * calls it every `telemetryFlushIntervalMs`). Items are grouped by (level, priority) so each packet
 * carries one explicit priority: metrics and health go in the INFO/NORMAL packet, each event in the
 * packet of its level (priority derived from the level unless given). A CRITICAL event is published at
 * once. Each item is validated against the contracts when recorded, so a bad one fails at its source.
 * A packet whose publish fails is kept for the next flush while the buffer has room.
 */
export class TelemetryEmitter {
  readonly actor: string;
  private readonly publish: PacketPublisher;
  private readonly maxPending: number;
  private groups = new Map<string, Group>();
  private retry: TelemetryPacket[] = [];
  private pending = 0;
  private dropped = 0;
  private droppedReported = 0;
  private stats = { packetsPublished: 0, publishFailures: 0 };
  private flushing: Promise<void> = Promise.resolve();

  constructor(opts: TelemetryEmitterOptions) {
    this.actor = opts.actor;
    this.publish = opts.publish;
    this.maxPending = opts.maxPendingItems ?? 4096;
  }

  /** Records a metric named `<actor>.<area>.<name>`. */
  metric(
    name: string,
    value: number,
    extra: { unit?: string; attributes?: Record<string, string> } = {},
  ): void {
    this.checkName(name);
    const point = validate("MetricPoint", { name, value, ...extra });
    if (!this.admit()) return;
    this.group("INFO", "NORMAL").metrics.push(point);
  }

  /** Records an event named `<actor>.<area>.<name>`; a CRITICAL one triggers an immediate flush. */
  event(eventId: string, opts: EventOptions): void {
    this.checkName(eventId);
    const event = validate("TelemetryEvent", {
      eventId,
      description: opts.description,
      level: TelemetryLevel[opts.level],
      ...(opts.attributes ? { attributes: { ...opts.attributes } } : {}),
    });
    if (!this.admit()) return;
    this.group(opts.level, opts.priority ?? priorityForLevel(opts.level)).events.push(event);
    if (opts.level === "CRITICAL") void this.flush();
  }

  /** Sets the health summary carried by the next INFO packet (the latest call wins). */
  health(
    status: Exclude<keyof typeof HealthStatus, "UNKNOWN">,
    summary: string,
    indicators?: Record<string, string>,
  ): void {
    const health = validate("SystemHealth", {
      status: HealthStatus[status],
      summary,
      ...(indicators ? { indicators } : {}),
    });
    this.group("INFO", "NORMAL").health = health;
  }

  /**
   * Publishes everything recorded so far (and packets kept from a failed publish). Flushes run one at
   * a time; a flush that throws rejects only its own callers, the next flush still runs.
   */
  flush(): Promise<void> {
    const next = () => this.flushNow();
    this.flushing = this.flushing.then(next, next);
    return this.flushing;
  }

  /** Counters of the emitter. */
  emitterStats(): EmitterStats {
    return { ...this.stats, droppedItems: this.dropped, pendingItems: this.pending };
  }

  private async flushNow(): Promise<void> {
    const built = this.build();
    const droppedNow = this.dropped;
    let counter: MetricPoint | undefined;
    if (droppedNow > this.droppedReported) {
      counter = validate("MetricPoint", { name: `${this.actor}.telemetry.dropped_total`, value: droppedNow });
      const info = built.find(
        (p) => p.level === TelemetryLevel.INFO && p.priority === MessagePriority.NORMAL,
      );
      if (info && info.metrics.length < SystemLimits.maxTelemetryItems) info.metrics.push(counter);
      else built.push(this.packet("INFO", "NORMAL", [counter], [], undefined));
    }
    const packets = [...this.retry, ...built];
    this.retry = [];
    this.pending = 0;
    for (const packet of packets) {
      try {
        await this.publish(packet);
        this.stats.packetsPublished++;
        if (counter && packet.metrics.includes(counter)) this.droppedReported = droppedNow;
      } catch {
        this.stats.publishFailures++;
        // The drop counter is rebuilt from the live count on the next flush; it is not retained.
        const kept = { ...packet, metrics: packet.metrics.filter((m) => m !== counter) };
        const size = kept.metrics.length + kept.events.length;
        if (this.pending + size <= this.maxPending) {
          this.retry.push(kept);
          this.pending += size;
        } else this.dropped += size;
      }
    }
  }

  private build(): TelemetryPacket[] {
    const groups = [...this.groups.values()];
    this.groups = new Map();
    const packets: TelemetryPacket[] = [];
    const max = SystemLimits.maxTelemetryItems;
    for (const g of groups) {
      const chunks = Math.max(1, Math.ceil(Math.max(g.metrics.length, g.events.length) / max));
      for (let c = 0; c < chunks; c++) {
        const [from, to] = [c * max, (c + 1) * max];
        packets.push(
          this.packet(
            g.level,
            g.priority,
            g.metrics.slice(from, to),
            g.events.slice(from, to),
            c === 0 ? g.health : undefined,
          ),
        );
      }
    }
    return packets;
  }

  private packet(
    level: LevelName,
    priority: PriorityName,
    metrics: MetricPoint[],
    events: TelemetryEvent[],
    health: SystemHealth | undefined,
  ): TelemetryPacket {
    return {
      packetId: randomUUID(),
      timestampMs: Date.now(),
      sourceSubsystem: this.actor,
      level: TelemetryLevel[level],
      priority: MessagePriority[priority],
      metrics,
      events,
      spans: [],
      ...(health ? { systemHealth: health } : {}),
    };
  }

  private group(level: LevelName, priority: PriorityName): Group {
    const key = `${level}/${priority}`;
    let g = this.groups.get(key);
    if (!g) {
      g = { level, priority, metrics: [], events: [], health: undefined };
      this.groups.set(key, g);
    }
    return g;
  }

  private admit(): boolean {
    if (this.pending >= this.maxPending) {
      this.dropped++;
      return false;
    }
    this.pending++;
    return true;
  }

  private checkName(name: string): void {
    const tokens = name.split(".");
    if (tokens[0] !== this.actor || tokens.length < 3 || !tokens.every((t) => /^[a-z0-9_-]+$/.test(t))) {
      throw new TelemetryNameError(
        `telemetry name '${name}' must be '${this.actor}.<area>.<name>' in [a-z0-9_-] tokens`,
      );
    }
  }
}
