import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { count, sha256Hex } from "../../contracts/primitives.ts";

/** File names of a policy directory. */
export const MODEL_FILE = "model.onnx";
export const MANIFEST_FILE = "manifest.json";

const kindAgreement = z.strictObject({
  decisions: count,
  agreed: count,
  agreement: z.number().min(0).max(1),
});
const agreementSet = z.strictObject({
  decisions: count,
  agreed: count,
  agreement: z.number().min(0).max(1),
  /** Per action kind of the teacher's decision. */
  byKind: z.record(z.string(), kindAgreement),
  /** No-ops whose reason also matched the teacher's. */
  noopReasonsAgreed: count,
});

/** The manifest of a fitted policy (manifest.json beside model.onnx). */
export const PolicyManifest = z.strictObject({
  /** Policy version name, carried in every decision. */
  version: z.string().min(1).max(128),
  /** sha256 (hex) of model.onnx. */
  sha256: sha256Hex,
  featureVersion: z.string().min(1),
  seed: z.number().int().min(0),
  recordings: z.array(z.strictObject({ file: z.string().min(1), sha256: sha256Hex })).min(1),
  teacher: z.strictObject({ version: z.string().min(1), digest: sha256Hex }),
  training: z.strictObject({
    recordedStates: count,
    augmentedStates: count,
    heldOutStates: count,
    steps: count,
    finalLoss: z.number(),
  }),
  agreement: z.strictObject({
    /** Augmented states the fit never saw, labelled by the teacher. */
    heldOut: agreementSet,
    /** The recorded states (also in the training set). */
    recording: agreementSet,
  }),
});
export type PolicyManifest = z.infer<typeof PolicyManifest>;

/** A policy directory is unusable: names the directory and what is wrong. */
export class PolicyDirectoryError extends Error {
  override readonly name = "PolicyDirectoryError";
  constructor(
    readonly dir: string,
    readonly reason: string,
  ) {
    super(`policy directory ${dir}: ${reason}`);
  }
}

/** sha256 (hex) of bytes. */
export function sha256Of(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A policy model whose bytes match its manifest. */
export interface VerifiedPolicy {
  readonly manifest: PolicyManifest;
  readonly bytes: Uint8Array;
}

/**
 * Reads `dir/manifest.json` and `dir/model.onnx`; throws PolicyDirectoryError when either is
 * missing, the manifest is invalid (naming the field) or the model's sha256 differs from the manifest's.
 */
export async function readPolicyDirectory(dir: string): Promise<VerifiedPolicy> {
  const read = async (file: string): Promise<Buffer> => {
    try {
      return await readFile(join(dir, file));
    } catch (err) {
      throw new PolicyDirectoryError(
        dir,
        `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  };
  let raw: unknown;
  try {
    raw = JSON.parse((await read(MANIFEST_FILE)).toString("utf8"));
  } catch (err) {
    if (err instanceof PolicyDirectoryError) throw err;
    throw new PolicyDirectoryError(dir, `${MANIFEST_FILE} is not JSON: ${String(err)}`);
  }
  const parsed = PolicyManifest.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PolicyDirectoryError(
      dir,
      `${MANIFEST_FILE} field ${issue?.path.join(".") || "(root)"} ${issue?.message ?? "is invalid"}`,
    );
  }
  const bytes = new Uint8Array(await read(MODEL_FILE));
  verifyModelDigest(bytes, parsed.data.sha256, `${dir}/${MODEL_FILE}`);
  return { manifest: parsed.data, bytes };
}

/** Throws when the sha256 of `bytes` is not `expected`, naming both digests. */
export function verifyModelDigest(bytes: Uint8Array, expected: string, what: string): void {
  const actual = sha256Of(bytes);
  if (actual !== expected) {
    throw new Error(`${what}: sha256 ${actual} does not match the expected ${expected}: refusing the model`);
  }
}

/** Writes model.onnx and manifest.json (2-space JSON, trailing newline) into `dir`, created when absent. */
export async function writePolicyDirectory(dir: string, policy: VerifiedPolicy): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, MODEL_FILE), policy.bytes);
  await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(policy.manifest, null, 2)}\n`);
}
