import type { BusConnection } from "../../bus/connection.ts";
import { streamExists } from "../../bus/jetstream/context.ts";
import { openBucket } from "../../bus/kv.ts";
import { storeName, WORKER_SETTINGS_KEY } from "../../contracts/stores.ts";
import type { SettingsSource } from "./settings-watcher.ts";

/** The subject-like label under which the bus reports an invalid value of the worker settings key. */
export function settingsKeyLabel(ns: string): string {
  return `kv ${storeName(ns, "settings")}/${WORKER_SETTINGS_KEY}`;
}

/** The settings bucket does not exist: nobody created the bus resources yet. */
export class SettingsBucketMissingError extends Error {
  override readonly name = "SettingsBucketMissingError";
  constructor(readonly bucket: string) {
    super(`KV bucket ${bucket} does not exist: start Weatherlight or run \`esper resources ensure\``);
  }
}

/**
 * The worker settings source backed by the `<ns>_settings` KV bucket, key `worker`. The bucket must
 * exist (the supervisor, or `esper resources ensure`, creates it); a missing bucket is a
 * SettingsBucketMissingError, which fails preflight.
 */
export async function kvSettingsSource(bus: BusConnection): Promise<SettingsSource> {
  const name = storeName(bus.namespace, "settings");
  if (!(await streamExists(bus, `KV_${name}`))) throw new SettingsBucketMissingError(name);
  const bucket = await openBucket(bus, "settings");
  return {
    async current() {
      const v = await bucket.get(WORKER_SETTINGS_KEY);
      return v === undefined ? undefined : { revision: v.revision, value: v.value };
    },
    watch: (onChange) =>
      bucket.watch(
        (c) =>
          onChange(
            c.kind === "put"
              ? { kind: "put", revision: c.revision, value: c.value }
              : { kind: "delete", revision: c.revision },
          ),
        WORKER_SETTINGS_KEY,
      ),
  };
}
