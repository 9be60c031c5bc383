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

/** The part of a pino-style logger a {@link logObserver} writes to. */
export interface BusLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** An observer that writes every event as one log line at the event's level. */
export function logObserver(logger: BusLogger): BusObserver {
  return { onEvent: (e) => logger[e.level]({ ...e.attributes }, e.name) };
}

/** An observer that forwards each event to every observer given, in order. */
export function fanOutObserver(...observers: readonly BusObserver[]): BusObserver {
  return {
    onEvent(event) {
      for (const o of observers) o.onEvent(event);
    },
  };
}
