import type { PolicyUpdate } from "../../contracts/messages/policy.ts";
import { TamiyoSettingsError } from "./errors.ts";
import { loadPolicyModel, type PolicyModel } from "./onnx-policy.ts";
import { readPolicyDirectory, verifyModelDigest } from "./policy-manifest.ts";
import { POLICY_DIR_ENV, POLICY_KIND_ENV, SHIPPED_POLICY_DIR } from "./settings.ts";

/** Which policy Tamiyo decides with: the fitted ONNX model of a directory, or the rule policy (the teacher). */
export type PolicyChoice = { readonly kind: "onnx"; readonly dir: string } | { readonly kind: "rules" };

/**
 * The policy chosen by the environment: ESPER_TAMIYO_POLICY `onnx` (or unset) loads the directory
 * ESPER_TAMIYO_POLICY_DIR (unset: the shipped policy); `rules` is the rule policy, an explicit choice
 * for teaching and tests. Any other value is a TamiyoSettingsError naming the variable.
 */
export function policyChoiceOf(env: Readonly<Record<string, string | undefined>>): PolicyChoice {
  const kind = env[POLICY_KIND_ENV];
  if (kind === "rules") return { kind: "rules" };
  if (kind !== undefined && kind !== "onnx") {
    throw new TamiyoSettingsError(POLICY_KIND_ENV, `must be 'onnx' or 'rules', got '${kind}'`);
  }
  const dir = env[POLICY_DIR_ENV];
  if (dir !== undefined && dir.length === 0)
    throw new TamiyoSettingsError(POLICY_DIR_ENV, "must not be empty");
  return { kind: "onnx", dir: dir ?? SHIPPED_POLICY_DIR };
}

/** Loads and verifies the model of a policy directory (manifest, sha256, interface, probe inference). */
export async function loadPolicyDirectory(dir: string): Promise<PolicyModel> {
  const { manifest, bytes } = await readPolicyDirectory(dir);
  return loadPolicyModel(bytes, { version: manifest.version, digest: manifest.sha256 });
}

/** A PolicyUpdate that was not applied; `reason` says why. The serving model is unchanged. */
export class PolicyUpdateRejectedError extends Error {
  override readonly name = "PolicyUpdateRejectedError";
  constructor(
    readonly policyId: string,
    readonly reason: string,
  ) {
    super(`policy update ${policyId} rejected: ${reason}`);
  }
}

/**
 * The serving policy model, swapped live by PolicyUpdates. An update is applied only after the same
 * checks as at start (payload sha256, model interface, a probe inference); a rejected update leaves
 * the serving model in place. A replaced model's session is released once no decision uses it.
 */
export class PolicySlot {
  private serving: PolicyModel;
  private readonly users = new Map<PolicyModel, number>();
  private readonly retired = new Set<PolicyModel>();

  constructor(model: PolicyModel) {
    this.serving = model;
  }

  /** The model decisions use now. */
  get current(): PolicyModel {
    return this.serving;
  }

  /** Runs `work` with the serving model, which stays loaded until `work` settles. */
  async use<T>(work: (model: PolicyModel) => Promise<T>): Promise<T> {
    const model = this.serving;
    this.users.set(model, (this.users.get(model) ?? 0) + 1);
    try {
      return await work(model);
    } finally {
      const left = (this.users.get(model) ?? 1) - 1;
      if (left > 0) this.users.set(model, left);
      else {
        this.users.delete(model);
        if (this.retired.delete(model)) await model.session.release();
      }
    }
  }

  /**
   * Verifies and loads the update's model (payload = ONNX bytes), then serves it. Throws
   * PolicyUpdateRejectedError with the reason (digest mismatch, unloadable model, wrong interface).
   */
  async apply(update: PolicyUpdate): Promise<PolicyModel> {
    let next: PolicyModel;
    try {
      verifyModelDigest(update.payload, update.payloadSha256, `policy update ${update.policyId}`);
      next = await loadPolicyModel(update.payload, {
        version: update.tamiyoPolicyVersion,
        digest: update.payloadSha256,
      });
    } catch (err) {
      throw new PolicyUpdateRejectedError(update.policyId, err instanceof Error ? err.message : String(err));
    }
    const old = this.serving;
    this.serving = next;
    if (this.users.has(old)) this.retired.add(old);
    else await old.session.release();
    return next;
  }

  /** Releases the serving model's session. */
  async close(): Promise<void> {
    await this.serving.session.release();
  }
}
