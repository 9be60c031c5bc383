import { validate } from "../../contracts/codec.ts";
import { ContractError } from "../../contracts/errors.ts";
import type { WorkerSettings } from "../../contracts/messages/worker-settings.ts";

/** A stored version of the settings: its store revision and value. */
export interface StoredSettings {
  readonly revision: number;
  readonly value: WorkerSettings;
}

/** A change of the settings key seen by a watch. */
export type SettingsChange =
  | { readonly kind: "put"; readonly revision: number; readonly value: WorkerSettings }
  | { readonly kind: "delete"; readonly revision: number };

/**
 * Where worker settings come from (the `<ns>_settings` KV bucket through the bus). Values are
 * validated by the source: `current` throws ContractError for an invalid stored value, and `watch`
 * never passes an invalid one on (the source reports it; the actor turns that report into
 * `SettingsWatcher.rejectInvalid`).
 */
export interface SettingsSource {
  /** The stored settings, or undefined when the key has never been written (or was deleted). */
  current(): Promise<StoredSettings | undefined>;
  /** Calls `onChange` for the current value and every later change until stopped. */
  watch(onChange: (change: SettingsChange) => void): Promise<{ stop(): Promise<void> }>;
}

/** The stored settings are invalid at startup (there is no earlier value to keep). */
export class SettingsLoadError extends Error {
  override readonly name = "SettingsLoadError";
  constructor(override readonly cause: ContractError) {
    super(`stored worker settings are invalid: ${cause.message}`);
  }
}

/** Where the settings in force came from. */
export type SettingsOrigin = "stored" | "schema-defaults";

/** A change that was applied. */
export interface SettingsApplied {
  readonly revision: number;
  readonly previous: WorkerSettings;
  readonly next: WorkerSettings;
  /** Dotted paths of the fields whose value changed, e.g. `worker.concurrency`. */
  readonly changed: readonly string[];
}

/** A change that was refused; the settings in force stay as they were. */
export interface SettingsRejected {
  /** The store revision, when known (a value refused by the source's validation has none here). */
  readonly revision: number | undefined;
  readonly reason: string;
  /** The field path of the first problem (`<root>` for a deletion or undecodable value). */
  readonly field: string;
}

/** Callbacks of a watcher. A throwing `onApplied` is reported through `onError`; the new value stays in force. */
export interface SettingsListeners {
  onApplied(change: SettingsApplied): void;
  onRejected(rejection: SettingsRejected): void;
  onError(error: unknown): void;
}

/**
 * The worker settings in force, kept current from a SettingsSource. At load, a missing key means the
 * schema defaults (the contracts' WorkerSettings schema is their one home; the origin is reported),
 * an invalid stored value is a SettingsLoadError. Afterwards, each valid update is applied and
 * announced; an invalid one (or a deletion) is rejected and announced, and the old value stays.
 */
export class SettingsWatcher {
  private value: WorkerSettings;
  private revisionInForce: number;
  private listeners: SettingsListeners | undefined;
  private watching: { stop(): Promise<void> } | undefined;

  private constructor(
    private readonly source: SettingsSource,
    initial: StoredSettings,
    /** Where the initial settings came from. */
    readonly origin: SettingsOrigin,
  ) {
    this.value = initial.value;
    this.revisionInForce = initial.revision;
  }

  /** Reads the current settings; throws SettingsLoadError when the stored value is invalid. */
  static async load(source: SettingsSource): Promise<SettingsWatcher> {
    let stored: StoredSettings | undefined;
    try {
      stored = await source.current();
    } catch (error) {
      if (error instanceof ContractError) throw new SettingsLoadError(error);
      throw error;
    }
    if (stored === undefined) {
      return new SettingsWatcher(
        source,
        { revision: 0, value: validate("WorkerSettings", {}) },
        "schema-defaults",
      );
    }
    return new SettingsWatcher(source, stored, "stored");
  }

  /** The settings in force. */
  get settings(): WorkerSettings {
    return this.value;
  }

  /** The store revision of the settings in force (0 for schema defaults never stored). */
  get revision(): number {
    return this.revisionInForce;
  }

  /** Starts following changes. */
  async watch(listeners: SettingsListeners): Promise<void> {
    this.listeners = listeners;
    this.watching = await this.source.watch((change) => this.apply(change));
  }

  /** Reports a change the source refused as invalid; the settings in force stay. */
  rejectInvalid(reason: string, field: string): void {
    this.listeners?.onRejected({ revision: undefined, reason, field });
  }

  /** Stops following changes. */
  async stop(): Promise<void> {
    const w = this.watching;
    this.watching = undefined;
    this.listeners = undefined;
    await w?.stop();
  }

  private apply(change: SettingsChange): void {
    const listeners = this.listeners;
    if (!listeners || change.revision <= this.revisionInForce) return;
    if (change.kind === "delete") {
      listeners.onRejected({
        revision: change.revision,
        reason: "the settings key was deleted",
        field: "<root>",
      });
      return;
    }
    const previous = this.value;
    this.value = change.value;
    this.revisionInForce = change.revision;
    try {
      listeners.onApplied({
        revision: change.revision,
        previous,
        next: change.value,
        changed: changedPaths(previous, change.value),
      });
    } catch (error) {
      listeners.onError(error);
    }
  }
}

/** Dotted paths of the leaves that differ between two settings objects. */
export function changedPaths(a: unknown, b: unknown, prefix = ""): string[] {
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    const out: string[] = [];
    for (const k of keys) {
      out.push(
        ...changedPaths(
          (a as Record<string, unknown>)[k],
          (b as Record<string, unknown>)[k],
          prefix ? `${prefix}.${k}` : k,
        ),
      );
    }
    return out;
  }
  return Object.is(a, b) ? [] : [prefix || "<root>"];
}
