import type { BusConnection } from "../../bus/connection.ts";
import { KvRevisionConflictError, openBucket, type TypedBucket } from "../../bus/kv.ts";
import type { KasminaState } from "../../contracts/messages/kasmina-state.ts";

/** The run's state was written by someone else since this Kasmina read or wrote it: two writers for one run. */
export class KasminaStateConflictError extends Error {
  override readonly name = "KasminaStateConflictError";
  constructor(
    readonly bucket: string,
    readonly run: string,
    readonly revision: number,
    options?: ErrorOptions,
  ) {
    super(
      `kasmina state ${bucket}/${run} changed after revision ${revision} under this Kasmina: another Kasmina writes this run (stop it), or the key was edited by hand`,
      options,
    );
  }
}

/**
 * One run's KasminaState in the `kasminaState` bucket (key: the run id), written with optimistic
 * concurrency: each write names the revision this Kasmina last read or wrote (none: the key must hold
 * no value, a deleted key included), so a second writer is detected, never overwritten.
 */
export class KasminaStateStore {
  private revision = 0;

  private constructor(
    private readonly bucket: TypedBucket<"kasminaState">,
    readonly run: string,
  ) {}

  /** Opens the bucket (it must exist: `ensureResources` declares it). */
  static async open(bus: BusConnection, run: string): Promise<KasminaStateStore> {
    return new KasminaStateStore(await openBucket(bus, "kasminaState"), run);
  }

  /** The bucket's NATS name. */
  get name(): string {
    return this.bucket.name;
  }

  /** The stored state (undefined when the run has none yet); throws ContractError naming the field when it is not a valid KasminaState. */
  async load(): Promise<KasminaState | undefined> {
    const entry = await this.bucket.get(this.run);
    this.revision = entry?.revision ?? 0;
    return entry?.value;
  }

  /** Stores `state` over the revision last read or written; throws KasminaStateConflictError when the key moved on. */
  async save(state: KasminaState): Promise<void> {
    try {
      this.revision =
        this.revision === 0
          ? await this.bucket.create(this.run, state)
          : await this.bucket.update(this.run, state, this.revision);
    } catch (err) {
      if (err instanceof KvRevisionConflictError) {
        throw new KasminaStateConflictError(this.bucket.name, this.run, this.revision, { cause: err });
      }
      throw err;
    }
  }
}
