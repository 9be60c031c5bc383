import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import type { PolicyModel } from "./onnx-policy.ts";
import { MODEL_FILE, sha256Of } from "./policy-manifest.ts";
import { PolicySlot, PolicyUpdateRejectedError, policyChoiceOf } from "./policy-swap.ts";
import { SHIPPED_POLICY_DIR } from "./settings.ts";

/** A model whose session only counts its releases. */
function countedModel(version: string): PolicyModel & { released: () => number } {
  let released = 0;
  const session = {
    release: async () => {
      released++;
    },
  } as unknown as ort.InferenceSession;
  return { identity: { version, digest: "0".repeat(64) }, session, released: () => released };
}

async function update(payload: Uint8Array<ArrayBuffer>, payloadSha256: string) {
  return {
    version: 1,
    policyId: "p-1",
    trainingRunId: "run-a",
    issuedAt: 1,
    tamiyoPolicyVersion: "tamiyo-mlp-next",
    payload,
    payloadSha256,
  };
}

describe("policy choice", () => {
  it("is the shipped ONNX policy by default, a named directory, or the rule policy when chosen", () => {
    expect(policyChoiceOf({})).toEqual({ kind: "onnx", dir: SHIPPED_POLICY_DIR });
    expect(policyChoiceOf({ ESPER_TAMIYO_POLICY_DIR: "/p" })).toEqual({ kind: "onnx", dir: "/p" });
    expect(policyChoiceOf({ ESPER_TAMIYO_POLICY: "rules" })).toEqual({ kind: "rules" });
    expect(() => policyChoiceOf({ ESPER_TAMIYO_POLICY: "rule" })).toThrow(
      /ESPER_TAMIYO_POLICY must be 'onnx' or 'rules'/,
    );
  });
});

describe("PolicySlot", () => {
  it("keeps serving the old model when an update is rejected", async () => {
    const old = countedModel("old");
    const slot = new PolicySlot(old);
    const bytes = new Uint8Array(await readFile(join(SHIPPED_POLICY_DIR, MODEL_FILE)));
    await expect(slot.apply(await update(bytes, "f".repeat(64)))).rejects.toBeInstanceOf(
      PolicyUpdateRejectedError,
    );
    expect(slot.current).toBe(old);
    expect(old.released()).toBe(0);
  });

  it("serves a verified update and releases the replaced model only once no decision uses it", async () => {
    const old = countedModel("old");
    const slot = new PolicySlot(old);
    const bytes = new Uint8Array(await readFile(join(SHIPPED_POLICY_DIR, MODEL_FILE)));
    let finish: () => void = () => undefined;
    const inFlight = slot.use(
      (m) =>
        new Promise<string>((resolve) => {
          finish = () => resolve(m.identity.version);
        }),
    );
    const next = await slot.apply(await update(bytes, sha256Of(bytes)));
    expect(slot.current).toBe(next);
    expect(next.identity).toEqual({ version: "tamiyo-mlp-next", digest: sha256Of(bytes) });
    expect(old.released()).toBe(0);
    finish();
    expect(await inFlight).toBe("old");
    expect(old.released()).toBe(1);
    await slot.close();
  });
});
