import { type KvChange, type KvValue, openBucket, type TypedBucket } from "../../bus/kv.ts";
import type { BlueprintDescriptor } from "../../contracts/index.ts";
import type { ActorContext } from "./actor-types.ts";

/** What the view knows of one blueprint: its descriptor, or its deletion, at a bucket revision. */
interface Held {
  readonly descriptor: BlueprintDescriptor | undefined;
  readonly revision: number;
}

/**
 * An in-memory copy of the blueprint catalog (the `catalog` KV bucket), shared by the actors that read
 * it (Urza's prefetch, Tamiyo's decisions). {@link loadAll} fills it; {@link apply} takes each change of
 * the bucket's watch; {@link descriptor} answers from memory and reads a blueprint it does not hold
 * through from the bucket once, so a request racing a fresh publish still finds it. Revision order:
 * a put, delete or read older than what the view knows of a blueprint (a deletion included) changes
 * nothing. An invalid descriptor stored after the load never reaches the view (the bucket's watch
 * counts and reports it): the view keeps the previous one.
 */
export class CatalogView {
  private readonly byId = new Map<string, Held>();
  private list: readonly BlueprintDescriptor[] = [];

  /** An empty view of `bucket`: {@link loadAll} fills it. */
  constructor(private readonly bucket: TypedBucket<"catalog">) {}

  /** Reads every descriptor of the bucket. Throws naming the blueprint when a stored descriptor is invalid. */
  async loadAll(): Promise<void> {
    for (const key of await this.bucket.keys()) {
      const entry = await this.read(key);
      if (entry !== undefined) this.hold(key, { descriptor: entry.value, revision: entry.revision });
    }
  }

  /** Applies one change of the bucket (a put holds the descriptor, a delete drops it) unless it is older than what is held. */
  apply(change: KvChange<BlueprintDescriptor>): void {
    this.hold(change.key, {
      descriptor: change.kind === "put" ? change.value : undefined,
      revision: change.revision,
    });
  }

  /**
   * The descriptor of `blueprintId`: the one held, else the bucket's (read once now and kept), else
   * undefined. Throws when the stored descriptor is invalid or the bucket cannot be read.
   */
  async descriptor(blueprintId: string): Promise<BlueprintDescriptor | undefined> {
    const held = this.byId.get(blueprintId)?.descriptor;
    if (held !== undefined) return held;
    const entry = await this.read(blueprintId);
    if (entry === undefined) return undefined;
    this.hold(blueprintId, { descriptor: entry.value, revision: entry.revision });
    return this.byId.get(blueprintId)?.descriptor;
  }

  /** The descriptors held now. */
  descriptors(): readonly BlueprintDescriptor[] {
    return this.list;
  }

  private async read(blueprintId: string): Promise<KvValue<BlueprintDescriptor> | undefined> {
    try {
      return await this.bucket.get(blueprintId);
    } catch (err) {
      throw new Error(
        `catalog descriptor ${blueprintId} in ${this.bucket.name} could not be read: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  private hold(blueprintId: string, next: Held): void {
    const held = this.byId.get(blueprintId);
    if (held !== undefined && held.revision >= next.revision) return;
    this.byId.set(blueprintId, next);
    this.list = [...this.byId.values()].flatMap((h) => (h.descriptor === undefined ? [] : [h.descriptor]));
  }
}

/**
 * Opens the `catalog` bucket, watches it (each change applied; the watch stops in the connection's
 * close hook, after the actor's drain), then loads every descriptor (the watch's first deliveries and
 * the load overlap; revision order keeps the newest). The bucket's watch reopens after every reconnect
 * (or server restart) from the last revision it delivered, so a change made while the connection was
 * down, or pushed into a connection the server did not yet know was dead, arrives then; a watch that
 * cannot be reopened is retried until the close hook stops it. Throws when the bucket is missing or a
 * stored descriptor is invalid: a view that cannot load fails the actor's start.
 */
export async function openCatalogView(ctx: Pick<ActorContext, "bus">): Promise<CatalogView> {
  const bucket = await openBucket(ctx.bus, "catalog");
  const view = new CatalogView(bucket);
  const watch = await bucket.watch((change) => view.apply(change));
  ctx.bus.onClose(() => watch.stop());
  await view.loadAll();
  return view;
}
