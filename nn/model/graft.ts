import { createHash } from "node:crypto";
import type { ParameterStore } from "../params/store.ts";
import { graftKernelParams, parseKernel } from "./kernel.ts";
import type { GraftedSeed } from "./slots.ts";

/**
 * Grafts a seed from its kernel artifact: checks the artifact's sha256 against `expectedSha256`, parses it, and adds its parameters to the store under `seed/<seedId>/`. Returns the seed to
 * put into a slot wiring. Nothing is added when a check fails.
 */
export function graftSeed(
  store: ParameterStore,
  seedId: string,
  artifact: Uint8Array,
  expectedSha256: string,
): GraftedSeed {
  const artifactSha256 = createHash("sha256").update(artifact).digest("hex");
  if (expectedSha256 !== artifactSha256) {
    throw new Error(
      `seed '${seedId}': kernel artifact sha256 ${artifactSha256} differs from expected ${expectedSha256}`,
    );
  }
  const kernel = parseKernel(artifact);
  graftKernelParams(store, seedId, kernel);
  return { seedId, kernel, artifactSha256 };
}

/** Removes a seed's parameters (`seed/<seedId>/...`) from the store, e.g. when it is culled. */
export function removeSeedParams(store: ParameterStore, seed: GraftedSeed): void {
  for (const p of seed.kernel.params) store.remove(`seed/${seed.seedId}/${p.name}`);
}
