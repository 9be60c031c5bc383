import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBucket } from "../../bus/kv.ts";
import { publish, request } from "../../bus/typed.ts";
import { type TamiyoDecision, TelemetryLevel } from "../../contracts/index.ts";
import type { PolicyUpdate } from "../../contracts/messages/policy.ts";
import { actorStage } from "../../test/actor-stage.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { startActor } from "../runtime/actor.ts";
import { createTamiyoActor } from "./main.ts";
import { MODEL_FILE, readPolicyDirectory, sha256Of } from "./policy-manifest.ts";
import { SHIPPED_POLICY_DIR, WAL_DIR_ENV } from "./settings.ts";
import { DORMANT, descriptor, packet, seedState } from "./testing/fixtures.ts";

const fixture = useNatsServer();

let walRoot: string;
beforeAll(async () => {
  walRoot = await mkdtemp(join(tmpdir(), "tamiyo-policy-update-"));
});
afterAll(async () => {
  await rm(walRoot, { recursive: true, force: true });
});

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("PolicyUpdate: the model is swapped live after its checks (real nats-server)", () => {
  it("rejects a bad update with CRITICAL telemetry and keeps serving; applies a good one", async () => {
    const s = await actorStage(fixture, "tamiyo", { resources: "all", signingKey: "policy-update-key" });
    const bucket = await openBucket(s.bus, "catalog");
    const fitting = descriptor("low-rank-linear", 8, 2);
    await bucket.put(fitting.blueprintId, fitting);
    const h = startActor(createTamiyoActor({ env: { [WAL_DIR_ENV]: join(walRoot, s.ns) } }), {
      env: s.env,
      handleSignals: false,
    });
    let epoch = 0;
    const evaluate = (): Promise<TamiyoDecision> =>
      request(s.bus, "tamiyoEvaluate", packet(epoch++, 1, [seedState("s1", DORMANT)]), { timeoutMs: 10_000 });
    try {
      await until(() => h.lifecycle.state === "running", "tamiyo running");
      const shipped = await readPolicyDirectory(SHIPPED_POLICY_DIR);
      expect((await evaluate()).policyVersion).toBe(shipped.manifest.version);

      const bytes = new Uint8Array(await readFile(join(SHIPPED_POLICY_DIR, MODEL_FILE)));
      const update = (
        payload: Uint8Array<ArrayBuffer>,
        payloadSha256: string,
        policyId: string,
      ): PolicyUpdate => ({
        version: 1,
        policyId,
        trainingRunId: "run-a",
        issuedAt: Date.now(),
        tamiyoPolicyVersion: "tamiyo-mlp-live",
        payload,
        payloadSha256,
      });
      const rejected = () => s.events("tamiyo.policy.update_rejected");
      publish(s.bus, "policyUpdate", update(bytes, "0".repeat(64), "bad-digest"));
      await until(() => rejected().length === 1, "the digest mismatch rejected");
      const garbage = new Uint8Array([1, 2, 3, 4]);
      publish(s.bus, "policyUpdate", update(garbage, sha256Of(garbage), "not-a-model"));
      await until(() => rejected().length === 2, "the unloadable model rejected");
      expect(rejected().map((e) => [e.level, e.attributes?.policyId])).toEqual([
        [TelemetryLevel.CRITICAL, "bad-digest"],
        [TelemetryLevel.CRITICAL, "not-a-model"],
      ]);
      expect(rejected()[0]?.description).toMatch(/does not match the expected 0{64}/);
      expect((await evaluate()).policyVersion).toBe(shipped.manifest.version);

      publish(s.bus, "policyUpdate", update(bytes, sha256Of(bytes), "good"));
      await until(() => s.events("tamiyo.policy.updated").length === 1, "the good update applied");
      const after = await evaluate();
      expect(after.policyVersion).toBe("tamiyo-mlp-live");
      expect(after.logits?.kind).toHaveLength(5);
      expect(after.valueEstimate).toEqual(expect.any(Number));
    } finally {
      h.drain("test done");
      await h.done;
      await s.close();
    }
  });
});
