import type { BlueprintDescriptor, SeedState, SystemStatePacket } from "../../contracts/index.ts";
import { AmbiguousTargetError, TargetMismatchError, UnknownTargetError } from "./errors.ts";
import type { GerminateAction } from "./policy.ts";

/** A germination whose seed and slot were found in the packet and whose blueprint was found in the catalog. */
export interface CheckedGermination {
  readonly action: GerminateAction;
  readonly seed: SeedState;
  readonly blueprint: BlueprintDescriptor;
}

/**
 * Strict id checks before a command is built: the target seed must be exactly one of the packet's seed
 * states, the slot exactly one of the packet's slots and the one that seed is in, with the width the
 * packet gives it; the blueprint exactly one catalog entry whose kernel maps the slot's width to itself.
 * Nothing is defaulted: an absent id throws UnknownTargetError naming it, a duplicate
 * AmbiguousTargetError, targets that do not belong together TargetMismatchError.
 */
export function checkGerminationTargets(
  action: GerminateAction,
  packet: SystemStatePacket,
  catalog: readonly BlueprintDescriptor[],
): CheckedGermination {
  const inPacket = `packet ${packet.packetId} of run ${packet.trainingRunId}`;
  const seed = only(
    packet.seedStates.filter((s) => s.seedId === action.seedId),
    "seed",
    action.seedId,
    inPacket,
  );
  const slot = only(
    packet.seedStates.filter((s) => s.slotId === action.slotId),
    "slot",
    action.slotId,
    inPacket,
  );
  if (slot !== seed) {
    throw new TargetMismatchError(
      "slotId",
      `'${action.slotId}' holds seed '${slot.seedId}', not the target seed '${seed.seedId}' (in slot '${seed.slotId}')`,
    );
  }
  if (action.slotWidth !== seed.slotWidth) {
    throw new TargetMismatchError(
      "slotWidth",
      `${action.slotWidth} differs from the width ${seed.slotWidth} ${inPacket} gives slot '${seed.slotId}'`,
    );
  }
  const blueprint = only(
    catalog.filter((b) => b.blueprintId === action.blueprintId),
    "blueprint",
    action.blueprintId,
    `the blueprint catalog (${catalog.length} entries)`,
  );
  if (blueprint.inputWidth !== seed.slotWidth || blueprint.outputWidth !== seed.slotWidth) {
    throw new TargetMismatchError(
      "blueprintId",
      `'${blueprint.blueprintId}' maps width ${blueprint.inputWidth} → ${blueprint.outputWidth}, but slot '${seed.slotId}' is ${seed.slotWidth} wide`,
    );
  }
  return { action, seed, blueprint };
}

function only<T>(found: readonly T[], kind: "seed" | "slot" | "blueprint", id: string, where: string): T {
  const [first, second] = found;
  if (first === undefined) throw new UnknownTargetError(kind, id, where);
  if (second !== undefined) throw new AmbiguousTargetError(kind, id, where, found.length);
  return first;
}
