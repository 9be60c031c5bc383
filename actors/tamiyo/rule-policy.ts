import { type BlueprintDescriptor, SeedLifecycleStage, type SeedState } from "../../contracts/index.ts";
import { MissingInputError } from "./errors.ts";
import { detectPlateau } from "./plateau.ts";
import type { PolicyAction, PolicyInput, SyncPolicy } from "./policy.ts";
import { checkRuleSet, type RuleSet, ruleSetIdentity } from "./rule-set.ts";

/** Stages in which a seed is between germination and fossilization (a lifecycle is under way). */
const IN_FLIGHT: ReadonlySet<number> = new Set([
  SeedLifecycleStage.GERMINATED,
  SeedLifecycleStage.TRAINING,
  SeedLifecycleStage.BLENDING,
  SeedLifecycleStage.SHADOWING,
  SeedLifecycleStage.PROBATIONARY,
]);

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The transparent rule policy: when the validation loss has plateaued (k epochs without relative
 * improvement > ε since the last germination) and no seed is in flight, germinate on the first free
 * slot (lowest layer depth, then seed id) the lowest-risk catalog blueprint (then lowest id) whose
 * input and output widths equal the slot's width (`slotWidth` of the seed state), that is not
 * quarantine-only and that needs no approval or is approved by the run's job (`PolicyInput.approved`).
 * Otherwise a no-op naming the first unmet condition. The rule set is copied at construction, so its
 * digest always describes the rules applied. Deterministic: the order of seeds in the packet
 * and of the catalog does not matter.
 */
export function createRulePolicy(rules: RuleSet): SyncPolicy {
  const own = structuredClone(checkRuleSet(rules));
  return { identity: ruleSetIdentity(own), decide: (input) => decide(input, own) };
}

function decide(input: PolicyInput, rules: RuleSet): PolicyAction {
  const { packet, memory } = input;
  const last = memory.losses.at(-1);
  if (last?.epoch !== packet.currentEpoch) {
    throw new MissingInputError(
      `validation loss of epoch ${packet.currentEpoch}`,
      "is not in the run memory: observe the packet before deciding",
    );
  }
  const plateau = detectPlateau(
    memory.losses.map((l) => l.loss),
    rules.plateau,
  );
  const k = rules.plateau.epochs;
  const eps = rules.plateau.minRelativeImprovement;
  if (!plateau.plateaued) {
    return noop(
      "no_plateau",
      `${plateau.epochsWithoutImprovement} of ${k} epochs without relative improvement > ${eps}`,
    );
  }
  const inFlight = packet.seedStates.filter((s) => IN_FLIGHT.has(s.stage)).map((s) => s.seedId);
  if (inFlight.length > 0) {
    return noop(
      "seed_in_flight",
      `seed(s) ${[...inFlight].sort(byText).join(", ")} still in their lifecycle`,
    );
  }
  const free = freeSlots(packet.seedStates);
  if (free.length === 0)
    return noop("no_free_slot", `none of ${packet.seedStates.length} seed(s) is DORMANT`);
  const usable = input.catalog
    .filter((b) => !b.quarantineOnly && (!b.approvalRequired || input.approved.has(b.blueprintId)))
    .sort((a, b) => a.risk - b.risk || byText(a.blueprintId, b.blueprintId));
  for (const seed of free) {
    const blueprint = usable.find((b) => fits(b, seed.slotWidth));
    if (blueprint) {
      return {
        kind: "germinate",
        seedId: seed.seedId,
        slotId: seed.slotId,
        slotWidth: seed.slotWidth,
        blueprintId: blueprint.blueprintId,
        blend: rules.blend,
        rationale:
          `plateau: ${plateau.epochsWithoutImprovement} epochs without relative improvement > ${eps} ` +
          `(best ${plateau.best}); free slot ${seed.slotId} of seed ${seed.seedId} (width ${seed.slotWidth}); ` +
          `blueprint ${blueprint.blueprintId} fits (risk ${blueprint.risk}` +
          `${blueprint.approvalRequired ? ", approval required: approved by the run's job" : ""})`,
      };
    }
  }
  const widths = [...new Set(free.map((s) => s.slotWidth))].sort((a, b) => a - b).join(", ");
  return noop(
    "no_fitting_blueprint",
    `no catalog blueprint of width ${widths} free of quarantine and approved (or free of approval) ` +
      `(${usable.length} of ${input.catalog.length} usable)`,
  );
}

/** DORMANT seeds (free slots) in slot order: layer depth, then seed id. */
function freeSlots(seeds: readonly SeedState[]): SeedState[] {
  return seeds
    .filter((s) => s.stage === SeedLifecycleStage.DORMANT)
    .sort((a, b) => a.layerDepth - b.layerDepth || byText(a.seedId, b.seedId));
}

/** A blueprint fits a slot when its kernel maps the slot's width to the same width. */
function fits(b: BlueprintDescriptor, width: number): boolean {
  return b.inputWidth === width && b.outputWidth === width;
}

function noop(reason: Extract<PolicyAction, { kind: "noop" }>["reason"], detail: string): PolicyAction {
  return { kind: "noop", reason, detail };
}
