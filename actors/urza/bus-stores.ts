import type { BusConnection } from "../../bus/connection.ts";
import { openBucket } from "../../bus/kv.ts";
import { ArtifactCorruptError, ArtifactNotFoundError, openArtifactStore } from "../../bus/objects.ts";
import type { ArtifactSource, CatalogLookup } from "./prefetch.ts";

/** The catalog and the kernel store as Urza's prefetch reads them, backed by the bus. */
export interface BusStores {
  readonly catalog: CatalogLookup;
  readonly artifacts: ArtifactSource;
}

/**
 * Opens the `catalog` KV bucket and the `kernels` object store (both must exist: `ensureResources`
 * creates them). A stored descriptor that fails validation throws ContractError on lookup.
 */
export async function openBusStores(bus: BusConnection): Promise<BusStores> {
  const bucket = await openBucket(bus, "catalog");
  const store = await openArtifactStore(bus, "kernels");
  return {
    catalog: {
      descriptor: async (blueprintId) => (await bucket.get(blueprintId))?.value,
    },
    artifacts: {
      async read(sha256) {
        try {
          return { kind: "found", bytes: await store.get(sha256) };
        } catch (err) {
          if (err instanceof ArtifactNotFoundError) return { kind: "missing" };
          if (err instanceof ArtifactCorruptError) return { kind: "corrupt", actualSha256: err.actualSha256 };
          throw err;
        }
      },
    },
  };
}
