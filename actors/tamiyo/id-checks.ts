import type { BlueprintDescriptor, SeedState, SystemStatePacket } from "../../contracts/index.ts";
import { AmbiguousTargetError, UnknownTargetError } from "./errors.ts";
import type { GerminateAction } from "./policy.ts";

/** A germination whose seed was found in the packet and whose blueprint was found in the catalog. */
export interface CheckedGermination {
  readonly action: GerminateAction;
  readonly seed: SeedState;
  readonly blueprint: BlueprintDescriptor;
}

/**
 * Strict id checks before a command is built: the target seed must be exactly one of the packet's seed
 * states and the blueprint exactly one catalog entry. Nothing is defaulted; a failure throws
 * UnknownTargetError naming the id (AmbiguousTargetError for a duplicate).
 */
export function checkGerminationTargets(
  action: GerminateAction,
  packet: SystemStatePacket,
  catalog: readonly BlueprintDescriptor[],
): CheckedGermination {
  const seed = only(
    packet.seedStates.filter((s) => s.seedId === action.seedId),
    "seed",
    action.seedId,
    `packet ${packet.packetId} of run ${packet.trainingRunId}`,
  );
  const blueprint = only(
    catalog.filter((b) => b.blueprintId === action.blueprintId),
    "blueprint",
    action.blueprintId,
    `the blueprint catalog (${catalog.length} entries)`,
  );
  return { action, seed, blueprint };
}

function only<T>(found: readonly T[], kind: "seed" | "blueprint", id: string, where: string): T {
  const [first, second] = found;
  if (first === undefined) throw new UnknownTargetError(kind, id, where);
  if (second !== undefined) throw new AmbiguousTargetError(kind, id, where, found.length);
  return first;
}
