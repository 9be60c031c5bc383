import { type BlueprintDescriptor, SeedLifecycleStage, type SeedState } from "../../contracts/index.ts";
import { MissingInputError } from "./errors.ts";
import { detectPlateau } from "./plateau.ts";
import type { Policy, PolicyAction, PolicyInput } from "./policy.ts";
import { checkRuleSet, type RuleSet, ruleSetIdentity } from "./rule-set.ts";

/** Stages in which a seed is between germination and fossilization (a lifecycle is under way). */
const IN_FLIGHT: ReadonlySet<number> = new Set([
  SeedLifecycleStage.GERMINATED,
  SeedLifecycleStage.TRAINING,
  SeedLifecycleStage.BLENDING,
  SeedLifecycleStage.SHADOWING,
  SeedLifecycleStage.PROBATIONARY,
]);

/** A DORMANT seed (a free slot) with the width of its slot's activation. */
interface FreeSlot {
  readonly seed: SeedState;
  readonly width: number;
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The transparent rule policy: when the validation loss has plateaued (k epochs without relative
 * improvement > ε since the last germination) and no seed is in flight, germinate on the first free
 * slot (lowest layer depth, then seed id) the lowest-risk catalog blueprint (then lowest id) whose
 * input and output widths equal the slot's width and that needs neither quarantine nor approval.
 * Otherwise a no-op naming the first unmet condition. The rule set is copied at construction, so its
 * digest always describes the rules applied. Deterministic: the order of seeds in the packet
 * and of the catalog does not matter.
 */
export function createRulePolicy(rules: RuleSet): Policy {
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
  const free = freeSlots(input);
  if (free.length === 0)
    return noop("no_free_slot", `none of ${packet.seedStates.length} seed(s) is DORMANT`);
  const usable = input.catalog
    .filter((b) => !b.quarantineOnly && !b.approvalRequired)
    .sort((a, b) => a.risk - b.risk || byText(a.blueprintId, b.blueprintId));
  for (const slot of free) {
    const blueprint = usable.find((b) => fits(b, slot.width));
    if (blueprint) {
      return {
        kind: "germinate",
        seedId: slot.seed.seedId,
        slotWidth: slot.width,
        blueprintId: blueprint.blueprintId,
        blend: rules.blend,
        rationale:
          `plateau: ${plateau.epochsWithoutImprovement} epochs without relative improvement > ${eps} ` +
          `(best ${plateau.best}); free slot of seed ${slot.seed.seedId} (width ${slot.width}); ` +
          `blueprint ${blueprint.blueprintId} fits (risk ${blueprint.risk})`,
      };
    }
  }
  const widths = [...new Set(free.map((s) => s.width))].sort((a, b) => a - b).join(", ");
  return noop(
    "no_fitting_blueprint",
    `no catalog blueprint of width ${widths} free of quarantine and approval ` +
      `(${usable.length} of ${input.catalog.length} usable)`,
  );
}

/** DORMANT seeds in slot order (layer depth, then seed id) with their slot widths; a missing width is an error. */
function freeSlots({ packet, slotWidths }: PolicyInput): FreeSlot[] {
  return packet.seedStates
    .filter((s) => s.stage === SeedLifecycleStage.DORMANT)
    .map((seed) => {
      const width = slotWidths.get(seed.seedId);
      if (width === undefined) {
        throw new MissingInputError(`slot width of seed '${seed.seedId}'`, "is not in the run's slot layout");
      }
      return { seed, width };
    })
    .sort((a, b) => a.seed.layerDepth - b.seed.layerDepth || byText(a.seed.seedId, b.seed.seedId));
}

/** A blueprint fits a slot when its kernel maps the slot's width to the same width. */
function fits(b: BlueprintDescriptor, width: number): boolean {
  return b.inputWidth === width && b.outputWidth === width;
}

function noop(reason: Extract<PolicyAction, { kind: "noop" }>["reason"], detail: string): PolicyAction {
  return { kind: "noop", reason, detail };
}
