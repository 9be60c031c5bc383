import { createHash } from "node:crypto";
import { type ObjectStore, Objm } from "@nats-io/obj";
import { type ObjectStoreKey, storeName } from "../contracts/stores.ts";
import type { BusConnection } from "./connection.ts";
import { streamExists } from "./jetstream/context.ts";

/** An artifact stored under its sha256. */
export interface StoredArtifact {
  /** Lower-case hex sha256 of the bytes; also the object's name. */
  readonly sha256: string;
  readonly size: number;
}

/** An object store addressed by content: each object is named by the sha256 of its bytes. */
export interface ArtifactStore {
  /** The NATS object store name (`<ns>_<suffix>`). */
  readonly name: string;
  /** Stores `bytes` under their sha256 (a no-op when already present) and returns the address. */
  put(bytes: Uint8Array, description?: string): Promise<StoredArtifact>;
  /** The bytes stored under `sha256`; throws when absent or when the bytes do not hash to `sha256`. */
  get(sha256: string): Promise<Uint8Array>;
  /** Whether an object is stored under `sha256`. */
  has(sha256: string): Promise<boolean>;
}

/** A requested artifact is not in the store. */
export class ArtifactNotFoundError extends Error {
  override readonly name = "ArtifactNotFoundError";
}

/** The bytes stored under an address do not hash to it. */
export class ArtifactCorruptError extends Error {
  override readonly name = "ArtifactCorruptError";
  constructor(
    readonly expectedSha256: string,
    readonly actualSha256: string,
    store: string,
  ) {
    super(`artifact ${expectedSha256} in ${store} is corrupt: its bytes hash to ${actualSha256}`);
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Hex sha256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Opens declared object store `key` (it must exist: `ensureResources` creates it). */
export async function openArtifactStore(bus: BusConnection, key: ObjectStoreKey): Promise<ArtifactStore> {
  const name = storeName(bus.namespace, key);
  if (!(await streamExists(bus, `OBJ_${name}`))) {
    throw new Error(`object store ${name} does not exist (were the resources ensured?)`);
  }
  const os: ObjectStore = await new Objm(bus.nc).open(name);
  const checkAddress = (sha256: string): void => {
    if (!SHA256_HEX.test(sha256)) throw new Error(`'${sha256}' is not a lower-case hex sha256`);
  };
  return {
    name,
    async put(bytes, description) {
      const sha256 = sha256Hex(bytes);
      const existing = await os.info(sha256);
      if (existing === null || existing.deleted) {
        await os.putBlob({ name: sha256, ...(description !== undefined ? { description } : {}) }, bytes);
      }
      return { sha256, size: bytes.byteLength };
    },
    async get(sha256) {
      checkAddress(sha256);
      const bytes = await os.getBlob(sha256);
      if (bytes === null)
        throw new ArtifactNotFoundError(`artifact ${sha256} is not in object store ${name}`);
      const actual = sha256Hex(bytes);
      if (actual !== sha256) throw new ArtifactCorruptError(sha256, actual, name);
      return bytes;
    },
    async has(sha256) {
      checkAddress(sha256);
      const info = await os.info(sha256);
      return info !== null && !info.deleted;
    },
  };
}
