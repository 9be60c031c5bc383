import type { BusConnection } from "../../bus/connection.ts";
import { openBucket } from "../../bus/kv.ts";
import { openArtifactStore } from "../../bus/objects.ts";
import { publish } from "../../bus/typed.ts";
import { guardDigest, sameContent } from "./guard-digest.ts";
import type { LibraryEntry } from "./library.ts";
import type { KernelPrewarm } from "./prefetch.ts";

/** What one {@link publishLibrary} run did, for telemetry. */
export interface PublishReport {
  /** Blueprints that had no descriptor in the catalog. */
  readonly added: number;
  /** Blueprints whose stored descriptor differed (in anything but `createdAt`) and was replaced. */
  readonly changed: number;
  /** Blueprints whose descriptor and artifact were already stored as built. */
  readonly unchanged: number;
  /** Artifacts written to the kernel store (absent before). */
  readonly artifactsStored: number;
  /** KernelCatalogUpdates published (one per blueprint whose descriptor or artifact was written). */
  readonly updatesPublished: number;
  /** Catalog keys not in this library (left in place: running seeds may still use them). */
  readonly notInLibrary: readonly string[];
}

/** What {@link publishLibrary} needs besides the bus. */
export interface PublishDeps {
  /** Loads and runs each kernel that is about to be written; a kernel that fails is never catalogued. */
  readonly prewarm: KernelPrewarm;
}

/**
 * Publishes the blueprint library idempotently: for each entry, prewarms the kernel, stores its artifact
 * in the `kernels` object store when absent (before the descriptor, so the catalog never names a missing
 * artifact), writes its descriptor to the `catalog` KV bucket when absent or different in anything but
 * `createdAt`, and publishes a KernelCatalogUpdate on `catalog.update`. Entries already stored as built
 * write and publish nothing, so a second run changes nothing. Throws on the first failure.
 */
export async function publishLibrary(
  bus: BusConnection,
  library: readonly LibraryEntry[],
  deps: PublishDeps,
): Promise<PublishReport> {
  const catalog = await openBucket(bus, "catalog");
  const kernels = await openArtifactStore(bus, "kernels");
  let added = 0;
  let changed = 0;
  let unchanged = 0;
  let artifactsStored = 0;
  let updatesPublished = 0;
  for (const entry of library) {
    const built = entry.descriptor;
    const id = built.blueprintId;
    const stored = (await catalog.get(id))?.value;
    const descriptorCurrent = stored !== undefined && sameContent(stored, built);
    const artifactPresent = await kernels.has(built.artifactSha256);
    if (descriptorCurrent && artifactPresent) {
      unchanged++;
      continue;
    }
    const prewarmMs = await deps.prewarm(entry.bytes, built);
    if (!artifactPresent) {
      const { sha256 } = await kernels.put(entry.bytes, `blueprint ${id}`);
      if (sha256 !== built.artifactSha256)
        throw new Error(
          `urza library: artifact of ${id} hashes to ${sha256}, its descriptor says ${built.artifactSha256}`,
        );
      artifactsStored++;
    }
    const current = descriptorCurrent ? stored : built;
    if (!descriptorCurrent) {
      await catalog.put(id, built);
      if (stored === undefined) added++;
      else changed++;
    }
    publish(bus, "catalogUpdate", {
      blueprintId: id,
      artifactRef: current.artifactSha256,
      checksum: current.artifactSha256,
      guardDigest: guardDigest(current),
      compileMs: entry.compileMs,
      prewarmMs,
    });
    updatesPublished++;
  }
  const ids = new Set(library.map((e) => e.descriptor.blueprintId));
  const notInLibrary = (await catalog.keys()).filter((k) => !ids.has(k)).sort();
  return { added, changed, unchanged, artifactsStored, updatesPublished, notInLibrary };
}
