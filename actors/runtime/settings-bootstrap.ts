import { isDeepStrictEqual } from "node:util";
import type { BusConnection } from "../../bus/connection.ts";
import { type EnsureReport, ensureResources } from "../../bus/jetstream/ensure.ts";
import { openBucket } from "../../bus/kv.ts";
import { validate } from "../../contracts/codec.ts";
import { ContractError } from "../../contracts/errors.ts";
import type { WorkerSettingsInput } from "../../contracts/messages/worker-settings.ts";
import { WORKER_SETTINGS_KEY } from "../../contracts/stores.ts";

/** What the supervisor's bootstrap did. */
export interface SettingsBootstrapReport {
  readonly resources: EnsureReport;
  /** The revision written, or undefined when the stored settings already equalled the configured ones. */
  readonly writtenRevision: number | undefined;
}

/**
 * The supervisor's preflight step: creates or updates every declared bus resource
 * (`ensureResources`), then writes `initial` (validated; a ContractError names the bad field) as the
 * worker settings unless the stored value already equals it apart from its `revision` (an invalid
 * stored value is replaced). A write over stored settings carries the stored revision + 1, so the
 * revision never goes back when a supervisor restarts.
 */
export async function bootstrapSettings(
  bus: BusConnection,
  initial: WorkerSettingsInput,
): Promise<SettingsBootstrapReport> {
  const settings = validate("WorkerSettings", initial);
  const resources = await ensureResources(bus);
  const bucket = await openBucket(bus, "settings");
  const stored = await bucket.get(WORKER_SETTINGS_KEY).catch((error: unknown) => {
    if (error instanceof ContractError) return undefined; // an invalid stored value is replaced
    throw error;
  });
  if (stored === undefined)
    return { resources, writtenRevision: await bucket.put(WORKER_SETTINGS_KEY, settings) };
  const { revision: storedRevision, ...current } = stored.value;
  const { revision: _configured, ...configured } = settings;
  if (isDeepStrictEqual(current, configured)) return { resources, writtenRevision: undefined };
  // The settings revision only rises: a restarted supervisor's write follows the last one.
  const next = { ...settings, revision: storedRevision + 1 };
  return { resources, writtenRevision: await bucket.put(WORKER_SETTINGS_KEY, next) };
}
