import { decode, validate } from "../../contracts/codec.ts";
import { ContractError } from "../../contracts/errors.ts";
import type { WorkerSettings } from "../../contracts/messages/worker-settings.ts";

/** One stored version of the settings key: its revision and bytes (undefined when deleted or purged). */
export interface SettingsEntry {
  readonly revision: number;
  readonly value: Uint8Array | undefined;
}

/** Where worker settings come from (the `<ns>_settings` KV bucket through the bus). */
export interface SettingsSource {
  /** The current entry, or undefined when the key has never been written. */
  current(): Promise<SettingsEntry | undefined>;
  /** Entries written after `afterRevision`, in order, until `signal` fires. */
  updates(afterRevision: number, signal: AbortSignal): AsyncIterable<SettingsEntry>;
}

/** The stored settings are invalid at startup (there is no earlier value to keep). */
export class SettingsLoadError extends Error {
  override readonly name = "SettingsLoadError";
  constructor(
    readonly revision: number,
    override readonly cause: ContractError,
  ) {
    super(`worker settings (revision ${revision}) are invalid: ${cause.message}`);
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
  readonly revision: number;
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
  private readonly abort = new AbortController();
  private loop: Promise<void> = Promise.resolve();

  private constructor(
    private readonly source: SettingsSource,
    initial: WorkerSettings,
    revision: number,
    /** Where the initial settings came from. */
    readonly origin: SettingsOrigin,
  ) {
    this.value = initial;
    this.revisionInForce = revision;
  }

  /** Reads the current settings; throws SettingsLoadError when the stored value is invalid. */
  static async load(source: SettingsSource): Promise<SettingsWatcher> {
    const entry = await source.current();
    if (entry?.value === undefined) {
      return new SettingsWatcher(source, validate("WorkerSettings", {}), entry?.revision ?? 0, "schema-defaults");
    }
    try {
      return new SettingsWatcher(source, decode("WorkerSettings", entry.value), entry.revision, "stored");
    } catch (error) {
      if (error instanceof ContractError) throw new SettingsLoadError(entry.revision, error);
      throw error;
    }
  }

  /** The settings in force. */
  get settings(): WorkerSettings {
    return this.value;
  }

  /** The store revision of the settings in force (0 for schema defaults never stored). */
  get revision(): number {
    return this.revisionInForce;
  }

  /** Starts following updates; returns at once. */
  watch(listeners: SettingsListeners): void {
    this.loop = (async () => {
      try {
        for await (const entry of this.source.updates(this.revisionInForce, this.abort.signal)) {
          this.apply(entry, listeners);
        }
      } catch (error) {
        if (!this.abort.signal.aborted) listeners.onError(error);
      }
    })();
  }

  /** Stops following updates and waits for the loop to end. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private apply(entry: SettingsEntry, listeners: SettingsListeners): void {
    if (entry.value === undefined) {
      listeners.onRejected({ revision: entry.revision, reason: "the settings key was deleted", field: "<root>" });
      return;
    }
    let next: WorkerSettings;
    try {
      next = decode("WorkerSettings", entry.value);
    } catch (error) {
      if (!(error instanceof ContractError)) throw error;
      listeners.onRejected({ revision: entry.revision, reason: error.message, field: error.field });
      return;
    }
    const previous = this.value;
    this.value = next;
    this.revisionInForce = entry.revision;
    try {
      listeners.onApplied({ revision: entry.revision, previous, next, changed: changedPaths(previous, next) });
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
        ...changedPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k),
      );
    }
    return out;
  }
  return Object.is(a, b) ? [] : [prefix || "<root>"];
}
