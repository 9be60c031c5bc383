import type { MessageType } from "./registry.ts";

/** A KV bucket of the bus map: its name under the namespace (`<ns>_<suffix>`) and the message type of its values. */
export interface BucketSpec {
  readonly suffix: string;
  readonly message: MessageType;
}

/** KV buckets, each holding values of one message type. */
export const buckets = {
  /** Worker settings, key `worker`; written only by Weatherlight. */
  settings: { suffix: "settings", message: "WorkerSettings" },
  /** Blueprint descriptors, keyed by blueprint id. */
  catalog: { suffix: "catalog", message: "BlueprintDescriptor" },
  /** Kasmina's state per training run, keyed by run id; written only by that run's Kasmina. */
  kasminaState: { suffix: "kasmina_state", message: "KasminaState" },
} as const satisfies Record<string, BucketSpec>;

/** The key of a registered KV bucket. */
export type BucketKey = keyof typeof buckets;

/** The key under which the worker settings live in the settings bucket. */
export const WORKER_SETTINGS_KEY = "worker";

/** Object stores: raw artifacts addressed by their sha256. */
export const objectStores = {
  /** ONNX kernel artifacts. */
  kernels: { suffix: "kernels" },
} as const;

/** The key of a registered object store. */
export type ObjectStoreKey = keyof typeof objectStores;

/** The NATS name of a bucket or object store under namespace `ns` (e.g. `esper_settings`). */
export function storeName(ns: string, key: BucketKey | ObjectStoreKey): string {
  const suffix =
    key in buckets ? buckets[key as BucketKey].suffix : objectStores[key as ObjectStoreKey].suffix;
  return `${ns}_${suffix}`;
}
