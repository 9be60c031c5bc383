import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { encode } from "../contracts/codec.ts";
import type { MessageInput, MessageOf } from "../contracts/registry.ts";
import { type BucketKey, buckets, storeName } from "../contracts/stores.ts";
import type { BusConnection } from "./connection.ts";
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
   * Calls `onChange` with the current value of each watched key, then with every later change. Invalid
   * stored values are counted and reported (`bus.message_rejected`) and never reach `onChange`.
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
    async watch(onChange, key) {
      const it = await kv.watch(key === undefined ? {} : { key });
      const done = (async () => {
        for await (const e of it) {
          if (e.operation !== "PUT") {
            onChange({ kind: "delete", key: e.key, revision: e.revision });
            continue;
          }
          const inbound = checkInbound(bus, type, where(e.key), e.value, undefined);
          if (inbound.ok) onChange({ kind: "put", key: e.key, value: inbound.msg, revision: e.revision });
        }
      })();
      return {
        async stop() {
          it.stop();
          await done;
        },
      };
    },
  };
}
