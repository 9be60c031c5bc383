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
    }
  | { readonly kind: "noop"; readonly reason: NoopReason; readonly detail: string };

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

/** A decision policy: pure, deterministic function of its input. */
export interface Policy {
  readonly identity: PolicyIdentity;
  decide(input: PolicyInput): PolicyAction;
}
