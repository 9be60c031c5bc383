import type { TypedBucket } from "../../bus/kv.ts";
import type { BlueprintDescriptor } from "../../contracts/index.ts";

/** Tamiyo's copy of the blueprint catalog (the `catalog` KV bucket), kept current from `catalog.update`. */
export class CatalogView {
  private readonly byId = new Map<string, BlueprintDescriptor>();
  private list: readonly BlueprintDescriptor[] = [];

  /** An empty view of `bucket`: {@link loadAll} fills it. */
  constructor(private readonly bucket: TypedBucket<"catalog">) {}

  /** Reads every descriptor of the bucket. Throws when a stored descriptor is invalid. */
  async loadAll(): Promise<void> {
    for (const key of await this.bucket.keys()) await this.refresh(key);
  }

  /** Re-reads one blueprint's descriptor (a deleted key leaves the view). */
  async refresh(blueprintId: string): Promise<void> {
    const entry = await this.bucket.get(blueprintId);
    if (entry === undefined) this.byId.delete(blueprintId);
    else this.byId.set(blueprintId, entry.value);
    this.list = [...this.byId.values()];
  }

  /** The descriptors held now. */
  descriptors(): readonly BlueprintDescriptor[] {
    return this.list;
  }
}
