import { type KvValue, openBucket, type TypedBucket } from "../../bus/kv.ts";
import type { BlueprintDescriptor } from "../../contracts/index.ts";
import type { ActorContext } from "./actor-types.ts";

interface Held {
  readonly descriptor: BlueprintDescriptor;
  readonly revision: number;
}

/**
 * An in-memory copy of the blueprint catalog (the `catalog` KV bucket), shared by the actors that read
 * it (Urza's prefetch, Tamiyo's decisions). {@link loadAll} fills it; {@link refresh} re-reads one
 * blueprint (on each `catalog.update`); {@link descriptor} answers from memory and reads a blueprint
 * it does not hold through from the bucket once, so a request racing a fresh publish still finds it.
 * A read never replaces a held descriptor with an older revision.
 */
export class CatalogView {
  private readonly byId = new Map<string, Held>();
  private list: readonly BlueprintDescriptor[] = [];

  /** An empty view of `bucket`: {@link loadAll} fills it. */
  constructor(private readonly bucket: TypedBucket<"catalog">) {}

  /** Reads every descriptor of the bucket. Throws naming the blueprint when a stored descriptor is invalid. */
  async loadAll(): Promise<void> {
    for (const key of await this.bucket.keys()) await this.refresh(key);
  }

  /** Re-reads one blueprint's descriptor (a deleted key leaves the view). */
  async refresh(blueprintId: string): Promise<void> {
    const entry = await this.read(blueprintId);
    if (entry === undefined) {
      if (this.byId.delete(blueprintId)) this.list = [...this.byId.values()].map((h) => h.descriptor);
      return;
    }
    this.hold(blueprintId, { descriptor: entry.value, revision: entry.revision });
  }

  /**
   * The descriptor of `blueprintId`: the one held, else the bucket's (read once now and kept), else
   * undefined. Throws when the stored descriptor is invalid or the bucket cannot be read.
   */
  async descriptor(blueprintId: string): Promise<BlueprintDescriptor | undefined> {
    const held = this.byId.get(blueprintId);
    if (held !== undefined) return held.descriptor;
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
    if (held !== undefined && held.revision > next.revision) return;
    this.byId.set(blueprintId, next);
    this.list = [...this.byId.values()].map((h) => h.descriptor);
  }
}

/**
 * Opens the `catalog` bucket, subscribes to `catalog.update` (ordered mailbox `catalog`: each update
 * re-reads that blueprint), then loads every descriptor, so no update published meanwhile is missed.
 * Throws when the bucket is missing or a stored descriptor is invalid: a view that cannot load fails
 * the actor's start.
 */
export async function openCatalogView(ctx: Pick<ActorContext, "bus" | "subscribe">): Promise<CatalogView> {
  const view = new CatalogView(await openBucket(ctx.bus, "catalog"));
  ctx.subscribe("catalogUpdate", (update) => view.refresh(update.blueprintId), {
    mailbox: "catalog",
    mode: "ordered",
  });
  await view.loadAll();
  return view;
}
