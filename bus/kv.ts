import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { type KV, Kvm, type KvWatchEntry } from "@nats-io/kv";
import type { QueuedIterator, Status } from "@nats-io/nats-core";
import { encode } from "../contracts/codec.ts";
import type { MessageInput, MessageOf } from "../contracts/registry.ts";
import { type BucketKey, buckets, storeName } from "../contracts/stores.ts";
import { type BusConnection, backoffDelay } from "./connection.ts";
import { checkInbound } from "./inbound.ts";
import { streamExists } from "./jetstream/context.ts";

/** The message type of the values of bucket `B`. */
export type BucketMessage<B extends BucketKey> = (typeof buckets)[B]["message"];

/** One value of a bucket with its revision. */
export interface KvValue<T> {
  readonly key: string;
  readonly value: T;
  readonly revision: number;
}

/** A change seen by a watch: a new value, or the key's deletion. */
export type KvChange<T> =
  | { readonly kind: "put"; readonly key: string; readonly value: T; readonly revision: number }
  | { readonly kind: "delete"; readonly key: string; readonly revision: number };

/** A compare-and-set write found the key at another revision than the one given: someone else wrote it meanwhile. */
export class KvRevisionConflictError extends Error {
  override readonly name = "KvRevisionConflictError";
  constructor(
    readonly bucket: string,
    readonly key: string,
    readonly expectedRevision: number,
    options?: ErrorOptions,
  ) {
    super(
      `${bucket}/${key} is no longer at revision ${expectedRevision}: another writer changed it`,
      options,
    );
  }
}

/** A running watch. */
export interface KvWatch {
  stop(): Promise<void>;
}

/** A KV bucket whose values are one Leyline message type, validated on every write and read. */
export interface TypedBucket<B extends BucketKey> {
  /** The NATS bucket name (`<ns>_<suffix>`). */
  readonly name: string;
  /** The value under `key`, or undefined when there is none. Throws ContractError when the stored value is invalid. */
  get(key: string): Promise<KvValue<MessageOf<BucketMessage<B>>> | undefined>;
  /** Validates and stores `value` under `key`; returns the new revision. */
  put(key: string, value: MessageInput<BucketMessage<B>>): Promise<number>;
  /** Stores `value` only if `key` holds no value (never written, or deleted); returns the new revision. */
  create(key: string, value: MessageInput<BucketMessage<B>>): Promise<number>;
  /**
   * Stores `value` only if `key` is still at `revision` (compare-and-set); returns the new revision.
   * Throws KvRevisionConflictError when the key is at another revision.
   */
  update(key: string, value: MessageInput<BucketMessage<B>>, revision: number): Promise<number>;
  delete(key: string): Promise<void>;
  /** Keys present in the bucket. */
  keys(): Promise<string[]>;
  /**
   * Calls `onChange` with the current value of each watched key, then with every later change, each
   * revision once and in order. Invalid stored values are counted and reported (`bus.message_rejected`)
   * and never reach `onChange`; an `onChange` that throws is reported (`bus.kv_watch_handler_failed`)
   * and the watch goes on. After each reconnect the watch is reopened after the last revision delivered
   * (a change the server pushed into a connection it did not yet know was dead arrives then, not only
   * with the next change). A watch that ends on its own or cannot be reopened is reopened with the bus's
   * jittered backoff, each attempt reported (`bus.kv_watch_retry`), until `stop()` or the connection
   * closes. Throws when the first open fails.
   */
  watch(onChange: (change: KvChange<MessageOf<BucketMessage<B>>>) => void, key?: string): Promise<KvWatch>;
}

/** Runs a compare-and-set write; a key that moved on (or exists, for a create) is a KvRevisionConflictError. */
async function casWriteOf(
  bucket: string,
  key: string,
  revision: number,
  write: () => Promise<number>,
): Promise<number> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamWrongLastSequence)
      throw new KvRevisionConflictError(bucket, key, revision, { cause: error });
    throw error;
  }
}

/** Opens declared bucket `bucket` (it must exist: `ensureResources` creates it). */
export async function openBucket<B extends BucketKey>(
  bus: BusConnection,
  bucket: B,
): Promise<TypedBucket<B>> {
  const name = storeName(bus.namespace, bucket);
  const type = buckets[bucket].message as BucketMessage<B>;
  if (!(await streamExists(bus, `KV_${name}`))) {
    throw new Error(`KV bucket ${name} does not exist (were the resources ensured?)`);
  }
  const kv: KV = await new Kvm(bus.nc).open(name);
  const where = (key: string): string => `kv ${name}/${key}`;
  return {
    name,
    async get(key) {
      const e = await kv.get(key);
      if (e === null || e.operation !== "PUT") return undefined;
      const inbound = checkInbound(bus, type, where(key), e.value, undefined);
      if (!inbound.ok) throw inbound.error;
      return { key, value: inbound.msg, revision: e.revision };
    },
    put: async (key, value) => kv.put(key, encode(type, value)),
    async create(key, value) {
      const bytes = encode(type, value);
      return casWriteOf(name, key, 0, () => kv.create(key, bytes));
    },
    async update(key, value, revision) {
      const bytes = encode(type, value);
      return casWriteOf(name, key, revision, () => kv.update(key, bytes, revision));
    },
    delete: (key) => kv.delete(key),
    async keys() {
      const out: string[] = [];
      for await (const k of await kv.keys()) out.push(k);
      return out;
    },
    watch: (onChange, key) =>
      followBucket(bus, name, kv, key, (e) => {
        if (e.operation !== "PUT") {
          onChange({ kind: "delete", key: e.key, revision: e.revision });
          return;
        }
        const inbound = checkInbound(bus, type, where(e.key), e.value, undefined);
        if (inbound.ok) onChange({ kind: "put", key: e.key, value: inbound.msg, revision: e.revision });
      }),
  };
}

/** First and longest wait between two attempts to reopen a watch (the bus's reconnect backoff defaults). */
const WATCH_RETRY_BASE_MS = 250;
const WATCH_RETRY_MAX_MS = 5_000;

/**
 * Follows `kv` (one key or all) with nats.js watches, handing each revision above the last one delivered
 * to `deliver`: reopens after each reconnect, and with backoff after a watch ended or failed to open.
 */
async function followBucket(
  bus: BusConnection,
  bucket: string,
  kv: KV,
  key: string | undefined,
  deliver: (e: KvWatchEntry) => void,
): Promise<KvWatch> {
  let last = 0;
  let stopped = false;
  let reconnects = 0;
  let current: QueuedIterator<KvWatchEntry> | undefined;
  let wake: (() => void) | undefined;
  const open = (): Promise<QueuedIterator<KvWatchEntry>> =>
    kv.watch({
      ...(key === undefined ? {} : { key }),
      ...(last > 0 ? { resumeFromRevision: last + 1 } : {}),
    });
  const ended = (): boolean => stopped || bus.nc.isClosed() || bus.nc.isDraining();
  let delivered = false;
  const hand = (e: KvWatchEntry): void => {
    if (e.revision <= last) return;
    last = e.revision;
    delivered = true;
    try {
      deliver(e);
    } catch (err) {
      bus.emit("bus.kv_watch_handler_failed", "error", {
        bucket,
        key: e.key,
        revision: e.revision,
        error: String(err),
      });
    }
  };
  /** Reports the `attempt`-th reopen and waits out its backoff (cut short by `stop()`). */
  const retryAfter = (attempt: number, error: string): Promise<void> => {
    const waitMs = backoffDelay(attempt - 1, WATCH_RETRY_BASE_MS, WATCH_RETRY_MAX_MS);
    bus.emit("bus.kv_watch_retry", "warn", { bucket, attempt, waitMs, error });
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  };

  // nats.js types it as AsyncIterable; it is a QueuedIterator, whose stop() ends it.
  const status = bus.nc.status() as QueuedIterator<Status>;
  const statusDone = (async () => {
    try {
      for await (const s of status) {
        if (s.type !== "reconnect") continue;
        reconnects++;
        current?.stop();
      }
    } catch (err) {
      bus.emit("bus.kv_watch_status_failed", "error", { bucket, error: String(err) });
    }
  })();

  let seen = reconnects;
  let first: QueuedIterator<KvWatchEntry>;
  try {
    first = await open();
  } catch (err) {
    status.stop();
    await statusDone;
    throw err;
  }

  const follow = async (): Promise<void> => {
    let it: QueuedIterator<KvWatchEntry> | undefined = first;
    let attempt = 0;
    while (!ended()) {
      if (it === undefined) {
        seen = reconnects;
        try {
          it = await open();
        } catch (err) {
          if (ended()) break;
          await retryAfter(++attempt, String(err));
          continue;
        }
      }
      current = it;
      delivered = false;
      if (stopped || seen !== reconnects) it.stop();
      let failure = "the watch ended on its own";
      try {
        for await (const e of it) hand(e);
      } catch (err) {
        failure = String(err);
      }
      current = undefined;
      it = undefined;
      if (ended()) break;
      if (delivered) attempt = 0;
      if (seen !== reconnects) continue;
      await retryAfter(++attempt, failure);
    }
    status.stop();
    await statusDone;
  };
  const done = follow();
  return {
    async stop() {
      stopped = true;
      current?.stop();
      wake?.();
      await done;
    },
  };
}
