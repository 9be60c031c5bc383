import { z } from "zod";
import { bytes, id, name, sha256Hex, timestampMs, uint32 } from "../primitives.ts";

/** A new Tamiyo policy (ONNX model bytes) with its digest. */
export const PolicyUpdate = z.strictObject({
  version: uint32,
  policyId: id,
  trainingRunId: id,
  issuedAt: timestampMs,
  tamiyoPolicyVersion: name,
  payload: bytes,
  payloadSha256: sha256Hex,
});
export type PolicyUpdate = z.infer<typeof PolicyUpdate>;
