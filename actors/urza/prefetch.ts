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
import type { CacheOutcome, KernelCache, Loaded } from "./kernel-cache.ts";
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

/** A verified, prewarmed kernel as the cache holds it (keyed by blueprint id and sha256). */
export interface VerifiedKernel {
  readonly kind: "verified";
  readonly artifactRef: string;
  readonly checksum: string;
  readonly guardDigest: string;
}

/** Why a load found no kernel (shared with the requests that waited for it, never cached). */
export interface KernelFailure {
  readonly kind: "failure";
  readonly code: KernelArtifactErrorCode;
  readonly reason: string;
}

/** What {@link answerPrefetch} reads and records. */
export interface PrefetchDeps {
  readonly catalog: CatalogLookup;
  readonly artifacts: ArtifactSource;
  readonly prewarm: KernelPrewarm;
  /** Prewarm latencies; each prewarm records one, every ready answer reports p50/p95 over them. */
  readonly samples: PrewarmSamples;
  /** Verified kernels by `<blueprintId>@<sha256>`, one load per key at a time. */
  readonly cache: KernelCache<VerifiedKernel | KernelFailure>;
}

function artifactError(
  req: KernelPrefetchRequest,
  code: KernelArtifactErrorCode,
  detail: string,
): KernelArtifactError {
  return { status: "error", requestId: req.requestId, blueprintId: req.blueprintId, code, reason: detail };
}

/** An answer and how the cache served it (`uncached`: the blueprint is not in the catalog). */
export interface PrefetchAnswer {
  readonly result: KernelPrefetchResult;
  readonly outcome: CacheOutcome | "uncached";
  readonly lockWaitMs: number;
}

/** The cache key of a blueprint's artifact: a republished artifact (another sha256) is another key. */
export function kernelCacheKey(blueprintId: string, sha256: string): string {
  return `${blueprintId}@${sha256}`;
}

/**
 * Answers a KernelPrefetchRequest: looks the blueprint up in the catalog, then takes its kernel from the
 * cache (key: blueprint id + the catalog's sha256) or, on a miss, reads its artifact, checks the bytes'
 * sha256 against the descriptor and prewarms the kernel in ONNX Runtime, once however many requests ask
 * at the same time. Returns KernelArtifactReady (artifact reference = the sha256 object name) or
 * KernelArtifactError with its KernelArtifactErrorCode (unknown_blueprint: not in the catalog;
 * artifact_missing: not in the store; digest_mismatch: bytes do not hash to `artifactSha256`;
 * kernel_invalid: does not prewarm in ONNX Runtime); never another kernel. Failures of the catalog or
 * store themselves throw.
 */
export async function answerPrefetch(
  req: KernelPrefetchRequest,
  deps: PrefetchDeps,
): Promise<PrefetchAnswer> {
  const d = await deps.catalog.descriptor(req.blueprintId);
  if (d === undefined) {
    const result = artifactError(
      req,
      "unknown_blueprint",
      `blueprint ${req.blueprintId} is not in the catalog`,
    );
    return { result, outcome: "uncached", lockWaitMs: 0 };
  }
  const key = kernelCacheKey(req.blueprintId, d.artifactSha256);
  const { value, outcome, lockWaitMs } = await deps.cache.obtain(key, () =>
    loadKernel(req.blueprintId, d, deps),
  );
  if (value.kind === "failure")
    return { result: artifactError(req, value.code, value.reason), outcome, lockWaitMs };
  const { p50Ms, p95Ms } = deps.samples.percentiles(req.blueprintId);
  const result: KernelPrefetchResult = {
    status: "ready",
    requestId: req.requestId,
    blueprintId: req.blueprintId,
    artifactRef: value.artifactRef,
    checksum: value.checksum,
    guardDigest: value.guardDigest,
    prewarmP50Ms: p50Ms,
    prewarmP95Ms: p95Ms,
  };
  return { result, outcome, lockWaitMs };
}

/** Reads, verifies and prewarms the artifact of `d`; a verified kernel weighs its artifact's bytes in the cache. */
async function loadKernel(
  blueprintId: string,
  d: BlueprintDescriptor,
  deps: PrefetchDeps,
): Promise<Loaded<VerifiedKernel | KernelFailure>> {
  const failure = (code: KernelArtifactErrorCode, reason: string) => ({
    value: { kind: "failure", code, reason } as const,
  });
  const expected = d.artifactSha256;
  const read = await deps.artifacts.read(expected);
  if (read.kind === "missing")
    return failure(
      "artifact_missing",
      `artifact ${expected} of blueprint ${blueprintId} is not in the kernel store`,
    );
  const actual = read.kind === "corrupt" ? read.actualSha256 : sha256Hex(read.bytes);
  if (read.kind === "corrupt" || actual !== expected)
    return failure(
      "digest_mismatch",
      `artifact of blueprint ${blueprintId} hashes to ${actual}, the catalog says ${expected}`,
    );
  let ms: number;
  try {
    ms = await deps.prewarm(read.bytes, d);
  } catch (err) {
    if (err instanceof KernelPrewarmError) return failure("kernel_invalid", err.message);
    throw err;
  }
  deps.samples.record(blueprintId, ms);
  return {
    value: { kind: "verified", artifactRef: expected, checksum: actual, guardDigest: guardDigest(d) },
    bytes: read.bytes.byteLength,
  };
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
