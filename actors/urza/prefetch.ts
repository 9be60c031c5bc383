import { createHash } from "node:crypto";
import type {
  BlueprintDescriptor,
  KernelArtifactError,
  KernelArtifactErrorCode,
  KernelPrefetchRequest,
  KernelPrefetchResult,
} from "../../contracts/index.ts";
import { KernelPrewarmError } from "./errors.ts";
import { guardDigest } from "./guard-digest.ts";
import type { PrewarmSamples } from "./prewarm-samples.ts";

/** Reads blueprint descriptors from the catalog. */
export interface CatalogLookup {
  /** The descriptor of `blueprintId`, or undefined when the catalog has none. */
  descriptor(blueprintId: string): Promise<BlueprintDescriptor | undefined>;
}

/** What reading an artifact by its sha256 found. */
export type ArtifactRead =
  | { readonly kind: "found"; readonly bytes: Uint8Array }
  | { readonly kind: "missing" }
  /** The store holds bytes under the address that hash to `actualSha256`. */
  | { readonly kind: "corrupt"; readonly actualSha256: string };

/** Reads kernel artifacts by sha256 (the object name). Transport failures throw. */
export interface ArtifactSource {
  read(sha256: string): Promise<ArtifactRead>;
}

/** Loads and runs a kernel once; resolves to the milliseconds it took, throws KernelPrewarmError when it cannot. */
export type KernelPrewarm = (bytes: Uint8Array, descriptor: BlueprintDescriptor) => Promise<number>;

/** What {@link answerPrefetch} reads and records. */
export interface PrefetchDeps {
  readonly catalog: CatalogLookup;
  readonly artifacts: ArtifactSource;
  readonly prewarm: KernelPrewarm;
  /** Prewarm latencies; each successful answer records one and reports p50/p95 over them. */
  readonly samples: PrewarmSamples;
}

function artifactError(
  req: KernelPrefetchRequest,
  code: KernelArtifactErrorCode,
  detail: string,
): KernelArtifactError {
  return { status: "error", requestId: req.requestId, blueprintId: req.blueprintId, code, reason: detail };
}

/**
 * Answers a KernelPrefetchRequest: looks the blueprint up in the catalog, reads its artifact, checks the
 * bytes' sha256 against the descriptor and prewarms the kernel in ONNX Runtime. Returns
 * KernelArtifactReady (artifact reference = the sha256 object name) or KernelArtifactError with its
 * KernelArtifactErrorCode (unknown_blueprint: not in the catalog; artifact_missing: not in the store;
 * digest_mismatch: bytes do not hash to `artifactSha256`; kernel_invalid: does not prewarm in ONNX
 * Runtime); never another kernel. Failures of the catalog or store themselves throw.
 */
export async function answerPrefetch(
  req: KernelPrefetchRequest,
  deps: PrefetchDeps,
): Promise<KernelPrefetchResult> {
  const d = await deps.catalog.descriptor(req.blueprintId);
  if (d === undefined)
    return artifactError(req, "unknown_blueprint", `blueprint ${req.blueprintId} is not in the catalog`);
  const expected = d.artifactSha256;
  const read = await deps.artifacts.read(expected);
  if (read.kind === "missing")
    return artifactError(
      req,
      "artifact_missing",
      `artifact ${expected} of blueprint ${req.blueprintId} is not in the kernel store`,
    );
  const actual = read.kind === "corrupt" ? read.actualSha256 : sha256Hex(read.bytes);
  if (read.kind === "corrupt" || actual !== expected)
    return artifactError(
      req,
      "digest_mismatch",
      `artifact of blueprint ${req.blueprintId} hashes to ${actual}, the catalog says ${expected}`,
    );
  let ms: number;
  try {
    ms = await deps.prewarm(read.bytes, d);
  } catch (err) {
    if (err instanceof KernelPrewarmError) return artifactError(req, "kernel_invalid", err.message);
    throw err;
  }
  deps.samples.record(req.blueprintId, ms);
  const { p50Ms, p95Ms } = deps.samples.percentiles(req.blueprintId);
  return {
    status: "ready",
    requestId: req.requestId,
    blueprintId: req.blueprintId,
    artifactRef: expected,
    checksum: actual,
    guardDigest: guardDigest(d),
    prewarmP50Ms: p50Ms,
    prewarmP95Ms: p95Ms,
  };
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
