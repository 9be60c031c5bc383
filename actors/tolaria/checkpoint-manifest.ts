import { z } from "zod";
import { count, sha256Hex, timestampMs } from "../../contracts/primitives.ts";

/** One durable checkpoint as the manifest lists it. */
export const CheckpointEntry = z.strictObject({
  id: z.string().regex(/^ckpt-step-\d{8}$/),
  file: z.string().regex(/^ckpt-step-\d{8}\.bin$/),
  step: count,
  epoch: count,
  bytes: z.number().int().min(1),
  sha256: sha256Hex,
  writtenAtMs: timestampMs,
});
export type CheckpointEntry = z.infer<typeof CheckpointEntry>;

/** `manifest.json` of the checkpoint directory: the checkpoints, oldest first. */
export const CheckpointManifest = z.strictObject({
  version: z.literal(1),
  checkpoints: z.array(CheckpointEntry),
});
export type CheckpointManifest = z.infer<typeof CheckpointManifest>;

/** The manifest's file name inside the checkpoint directory. */
export const MANIFEST_FILE = "manifest.json";

/** Parses manifest text; a bad manifest is an error naming the field. */
export function parseManifest(text: string, path: string): CheckpointManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`checkpoint manifest ${path} is not JSON: ${(e as Error).message}`);
  }
  const parsed = CheckpointManifest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`checkpoint manifest ${path}: ${issue?.path.join(".") ?? ""} ${issue?.message ?? ""}`);
  }
  return parsed.data;
}
