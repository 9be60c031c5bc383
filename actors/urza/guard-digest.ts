import { createHash } from "node:crypto";
import type { BlueprintDescriptor } from "../../contracts/index.ts";

/** A descriptor without its creation time: what a kernel is, independent of when it was catalogued. */
export type DescriptorContent = Omit<BlueprintDescriptor, "createdAt">;

/** The descriptor's content (every field but `createdAt`). */
export function descriptorContent(d: BlueprintDescriptor): DescriptorContent {
  const { createdAt: _createdAt, ...content } = d;
  return content;
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
}

/** Whether two descriptors describe the same kernel (equal in every field but `createdAt`). */
export function sameContent(a: BlueprintDescriptor, b: BlueprintDescriptor): boolean {
  return canonical(descriptorContent(a)) === canonical(descriptorContent(b));
}

/**
 * The guard digest of a catalog entry: hex sha256 of the descriptor's content (sorted-key JSON, without
 * `createdAt`). It binds an artifact to the catalog entry it was checked against (id, tier, widths,
 * parameter count, artifact sha256, bounds, risk), so a consumer can tell that the entry changed.
 */
export function guardDigest(d: BlueprintDescriptor): string {
  return createHash("sha256")
    .update(canonical(descriptorContent(d)))
    .digest("hex");
}
