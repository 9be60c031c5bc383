/** Severity of a bus event. */
export type BusEventLevel = "debug" | "info" | "warn" | "error";

/** Attribute values carried by a bus event. */
export type BusEventAttributes = Readonly<Record<string, string | number | boolean>>;

/** Something the bus reports: a connection status change, a rejected message, a dead letter, a lagging consumer. */
export interface BusEvent {
  /** Dotted event name, e.g. `bus.disconnected`, `bus.message_rejected`. */
  readonly name: string;
  readonly level: BusEventLevel;
  readonly attributes: BusEventAttributes;
}

/** Receives bus events; the actor runtime plugs its telemetry in here. The bus never imports the runtime. */
export interface BusObserver {
  onEvent(event: BusEvent): void;
}
