import type { BusConnection } from "../../bus/connection.ts";
import { ArtifactCorruptError, ArtifactNotFoundError, openArtifactStore } from "../../bus/objects.ts";
import type { ArtifactSource } from "./prefetch.ts";

/**
 * The `kernels` object store as Urza's prefetch reads it (it must exist: `ensureResources` creates it):
 * a missing object is `missing`, bytes that do not hash to their name are `corrupt`, other failures throw.
 */
export async function openArtifactSource(bus: BusConnection): Promise<ArtifactSource> {
  const store = await openArtifactStore(bus, "kernels");
  return {
    async read(sha256) {
      try {
        return { kind: "found", bytes: await store.get(sha256) };
      } catch (err) {
        if (err instanceof ArtifactNotFoundError) return { kind: "missing" };
        if (err instanceof ArtifactCorruptError) return { kind: "corrupt", actualSha256: err.actualSha256 };
        throw err;
      }
    },
  };
}
