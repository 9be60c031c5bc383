import type { BusConnection } from "../../../bus/connection.ts";
import { openBucket } from "../../../bus/kv.ts";
import { BlueprintTier } from "../../../contracts/enums.ts";
import type { BlueprintDescriptor } from "../../../contracts/messages/kernel.ts";

/** A catalog descriptor of `blueprintId` mapping `width` to `width` with artifact `sha256` (tests only). */
export function descriptorOf(blueprintId: string, width: number, sha256: string): BlueprintDescriptor {
  return {
    blueprintId,
    name: blueprintId,
    tier: BlueprintTier.SAFE,
    allowedParameters: {},
    risk: 0.1,
    stage: 0,
    quarantineOnly: false,
    approvalRequired: false,
    description: "test kernel",
    parameterCount: 10,
    inputWidth: width,
    outputWidth: width,
    artifactSha256: sha256,
    createdAt: 1_000,
  };
}

/** Stores the descriptor of `blueprintId` (width `width`, artifact `sha256`) in the run namespace's catalog bucket. */
export async function catalogTestKernel(
  bus: BusConnection,
  blueprintId: string,
  width: number,
  sha256: string,
): Promise<void> {
  const catalog = await openBucket(bus, "catalog");
  await catalog.put(blueprintId, descriptorOf(blueprintId, width, sha256));
}
