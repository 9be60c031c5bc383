import { z } from "zod";
import { BlendMode, SeedLifecycleStage } from "../enums.ts";
import { count, enumCode, float32Array, id, text, timestampMs } from "../primitives.ts";
import { BlendScheduleSpec, ConfidenceGate } from "./command.ts";
import { KernelRef, SeedReport } from "./seed.ts";

const stage = enumCode(SeedLifecycleStage, "SeedLifecycleStage");

/** One stage change of a seed. */
const SeedTransitionState = z.strictObject({ from: stage, to: stage, reason: text, atMs: timestampMs });

/** One seed's state machine: its stage, every transition since DORMANT and the end of its last embargo. */
const SeedLifecycleState = z.strictObject({
  seedId: id,
  stage,
  history: z.array(SeedTransitionState),
  embargoUntilMs: timestampMs.optional(),
});

/** A slot of the host and the seed it holds, if it ever held one. */
const SlotState = z.strictObject({ slotId: id, seed: SeedLifecycleState.optional() });

/** How a germinated seed is blended, from its GERMINATE command. */
const SeedPlanState = z.strictObject({
  commandId: id,
  blueprintId: id,
  blendMode: enumCode(BlendMode, "BlendMode"),
  schedule: BlendScheduleSpec,
  alphaVector: float32Array.optional(),
  confidence: ConfidenceGate.optional(),
  includeTeacher: z.boolean(),
});

/** Kasmina's bookkeeping for the seed id a slot offers: its generation, next directive sequence, plan, kernel and report window. */
const SeedRecordState = z.strictObject({
  seedId: id,
  slotId: id,
  generation: count,
  nextSequence: count,
  plan: SeedPlanState.optional(),
  pendingPrefetch: z.strictObject({ requestId: id, blueprintId: id }).optional(),
  kernel: KernelRef.optional(),
  reports: z.array(SeedReport),
});

/** A nonce of an accepted command and when the ledger forgets it. */
const NonceState = z.strictObject({ nonce: id, expiresAtMs: timestampMs });

/** The stream sequences of the latest messages whose effect is in this state, oldest first, per consumer. */
const AppliedState = z.strictObject({ commands: z.array(count), reports: z.array(count) });

/**
 * Kasmina's state for one training run, stored in the `kasminaState` bucket under the run id after
 * every handled command and report (before its ack), so a restarted Kasmina resumes the same stages
 * with the same nonce ledger and recognises a redelivered message it already applied. Its size is
 * bounded by the codec's message limit only: a state over it cannot be stored.
 */
export const KasminaState = z.strictObject({
  trainingRunId: id,
  savedAt: timestampMs,
  /** The slot table, in the host's slot order. */
  slots: z.array(SlotState),
  /** One record per slot: the seed id it offers now. */
  seeds: z.array(SeedRecordState),
  /** Every stage change of the run, oldest first. */
  timeline: z.array(SeedTransitionState.extend({ seedId: id })),
  /** The nonce ledger: unexpired nonces in registration order and the evictions counted so far. */
  nonces: z.strictObject({ entries: z.array(NonceState), evictions: count }),
  applied: AppliedState,
});
export type KasminaState = z.infer<typeof KasminaState>;
