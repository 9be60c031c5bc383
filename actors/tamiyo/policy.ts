import type {
  BlendMode,
  BlendScheduleSpec,
  BlueprintDescriptor,
  ConfidenceGate,
  SystemStatePacket,
} from "../../contracts/index.ts";
import type { RunMemory } from "./run-memory.ts";

/** Blend modes a policy may choose without per-channel data (CHANNEL needs an alpha vector per slot width). */
export type PolicyBlendMode =
  | typeof BlendMode.RESIDUAL
  | typeof BlendMode.CONVEX
  | typeof BlendMode.CONFIDENCE;

/** How a germinated seed is blended in: mode, alpha ramp and (for CONFIDENCE) the gate. */
export interface BlendSettings {
  readonly mode: PolicyBlendMode;
  readonly schedule: BlendScheduleSpec;
  readonly confidence?: ConfidenceGate;
}

/** Why a policy decided to do nothing. */
export type NoopReason = "no_plateau" | "seed_in_flight" | "no_free_slot" | "no_fitting_blueprint";

/** What a learned policy computed for a decision: raw logits per head, value and risk estimates, feature coverage. */
export interface PolicyScores {
  /** Raw logits per classification head (kind, slot, blueprint, blend, reason), before masking. */
  readonly logits: Readonly<Record<string, number[]>>;
  readonly valueEstimate: number;
  /** The risk head's estimate in [0, 1]. */
  readonly riskEstimate: number;
  /** Fraction of the named feature inputs that were present. */
  readonly featureCoverage: number;
  /** Model inference time, in ms. */
  readonly inferenceMs: number;
}

/** What a policy decided, before risk, id checks and command building. */
export type PolicyAction =
  | {
      readonly kind: "germinate";
      /** The DORMANT seed whose slot receives the kernel. */
      readonly seedId: string;
      /** The seed's slot and its width, as the packet gives them. */
      readonly slotId: string;
      readonly slotWidth: number;
      readonly blueprintId: string;
      readonly blend: BlendSettings;
      /** Human-readable evidence for the decision. */
      readonly rationale: string;
      /** A learned policy's outputs (absent for the rule policy, which has none). */
      readonly scores?: PolicyScores;
    }
  | {
      readonly kind: "noop";
      readonly reason: NoopReason;
      readonly detail: string;
      readonly scores?: PolicyScores;
    };

/** A policy's decision to germinate a blueprint on a seed's slot. */
export type GerminateAction = Extract<PolicyAction, { kind: "germinate" }>;

/** A policy's decision to do nothing, with its reason. */
export type NoopAction = Extract<PolicyAction, { kind: "noop" }>;

/** Which policy decided: its version name and the sha256 (hex) of its rule set or model. */
export interface PolicyIdentity {
  readonly version: string;
  readonly digest: string;
}

/** Everything a policy reads for one decision. */
export interface PolicyInput {
  readonly packet: SystemStatePacket;
  readonly catalog: readonly BlueprintDescriptor[];
  /** Blueprint ids the run's job approves (`job-approvals.ts`): only these of the `approvalRequired` ones may be germinated. */
  readonly approved: ReadonlySet<string>;
  /** The run's memory after observing `packet` (see `observePacket`). */
  readonly memory: RunMemory;
}

/**
 * A decision policy: a deterministic function of its input. A learned policy decides asynchronously
 * (model inference); the rule policy synchronously.
 */
export interface Policy {
  readonly identity: PolicyIdentity;
  decide(input: PolicyInput): PolicyAction | Promise<PolicyAction>;
}

/** A policy that decides synchronously (the rule policy). */
export interface SyncPolicy extends Policy {
  decide(input: PolicyInput): PolicyAction;
}
