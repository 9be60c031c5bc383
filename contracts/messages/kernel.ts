import { z } from "zod";
import { BlueprintTier } from "../enums.ts";
import {
  count,
  enumCode,
  finite,
  id,
  name,
  nonNegative,
  sha256Hex,
  text,
  timestampMs,
  uint32,
  unit,
} from "../primitives.ts";

/** Kasmina asks Urza for a blueprint's kernel artifact. */
export const KernelPrefetchRequest = z.strictObject({
  requestId: id,
  blueprintId: id,
  trainingRunId: id,
  issuedAt: timestampMs,
});
export type KernelPrefetchRequest = z.infer<typeof KernelPrefetchRequest>;

/** The artifact is in the kernel object store under `artifactRef` with this sha256. */
export const KernelArtifactReady = z.strictObject({
  status: z.literal("ready"),
  requestId: id,
  blueprintId: id,
  artifactRef: id,
  checksum: sha256Hex,
  guardDigest: sha256Hex,
  prewarmP50Ms: nonNegative,
  prewarmP95Ms: nonNegative,
});
export type KernelArtifactReady = z.infer<typeof KernelArtifactReady>;

/** Why Urza cannot supply a kernel. */
export const KernelArtifactErrorCode = z.enum([
  "unknown_blueprint",
  "artifact_missing",
  "digest_mismatch",
  "kernel_invalid",
]);
export type KernelArtifactErrorCode = z.infer<typeof KernelArtifactErrorCode>;

/** Urza cannot supply the kernel: `code` says why, `reason` gives the detail. Never followed by a fallback kernel. */
export const KernelArtifactError = z.strictObject({
  status: z.literal("error"),
  requestId: id,
  blueprintId: id,
  code: KernelArtifactErrorCode,
  reason: text.min(1, "must not be empty"),
});
export type KernelArtifactError = z.infer<typeof KernelArtifactError>;

/** The reply to a KernelPrefetchRequest. */
export const KernelPrefetchResult = z.discriminatedUnion("status", [
  KernelArtifactReady,
  KernelArtifactError,
]);
export type KernelPrefetchResult = z.infer<typeof KernelPrefetchResult>;

/** A kernel artifact was (re)built and stored. */
export const KernelCatalogUpdate = z.strictObject({
  blueprintId: id,
  artifactRef: id,
  checksum: sha256Hex,
  guardDigest: sha256Hex,
  compileMs: nonNegative,
  prewarmMs: nonNegative,
});
export type KernelCatalogUpdate = z.infer<typeof KernelCatalogUpdate>;

/** Allowed range of one blueprint parameter. */
export const BlueprintParameterBounds = z
  .strictObject({ minValue: finite, maxValue: finite })
  .refine((b) => b.minValue <= b.maxValue, { message: "must be >= minValue", path: ["maxValue"] });
export type BlueprintParameterBounds = z.infer<typeof BlueprintParameterBounds>;

/** A blueprint in the catalog: what its kernel is, what it may be configured with, how risky it is. */
export const BlueprintDescriptor = z.strictObject({
  blueprintId: id,
  name,
  tier: enumCode(BlueprintTier, "BlueprintTier"),
  allowedParameters: z
    .record(name, BlueprintParameterBounds)
    .refine((m) => Object.keys(m).length <= 32, "must have at most 32 entries"),
  risk: unit,
  stage: uint32,
  quarantineOnly: z.boolean(),
  approvalRequired: z.boolean(),
  description: text,
  parameterCount: count,
  inputWidth: uint32,
  outputWidth: uint32,
  artifactSha256: sha256Hex,
  createdAt: timestampMs,
});
export type BlueprintDescriptor = z.infer<typeof BlueprintDescriptor>;
