import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jetStreamManagerOf } from "../../bus/jetstream/context.ts";
import { streamName } from "../../bus/jetstream/declarations.ts";
import { openBucket } from "../../bus/kv.ts";
import { request } from "../../bus/typed.ts";
import { TelemetryLevel } from "../../contracts/index.ts";
import { actorStage } from "../../test/actor-stage.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { startActor } from "../runtime/actor.ts";
import { createTamiyoActor } from "./main.ts";
import { PLATEAU, WAL_DIR_ENV } from "./settings.ts";
import { DORMANT, descriptor, packet, seedState } from "./testing/fixtures.ts";

const fixture = useNatsServer();

let walRoot: string;
beforeAll(async () => {
  walRoot = await mkdtemp(join(tmpdir(), "tamiyo-deadline-"));
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

describe("the inference deadline (real nats-server)", () => {
  it("an inference over its deadline is an error reply and CRITICAL tamiyo.inference.timeout, never a command", async () => {
    const s = await actorStage(fixture, "tamiyo", {
      resources: "all",
      signingKey: "inference-deadline-test-key",
    });
    const bucket = await openBucket(s.bus, "catalog");
    const fitting = descriptor("low-rank-linear", 8, 2);
    await bucket.put(fitting.blueprintId, fitting);
    const actor = createTamiyoActor({ env: { [WAL_DIR_ENV]: join(walRoot, s.ns) }, inferenceDeadlineMs: 0 });
    const h = startActor(actor, { env: s.env, handleSignals: false });
    try {
      await until(() => h.lifecycle.state === "running", "tamiyo running");
      const losses = [1, 0.8, ...Array.from({ length: PLATEAU.epochs }, () => 0.8)];
      for (const [epoch, loss] of losses.entries()) {
        const p = packet(epoch, loss, [seedState("s1", DORMANT)]);
        await expect(request(s.bus, "tamiyoEvaluate", p, { timeoutMs: 10_000 })).rejects.toThrow(
          /inference did not finish within its 0 ms deadline/,
        );
      }
      await until(() => s.events("tamiyo.inference.timeout").length === losses.length, "timeout events");
      const events = s.events("tamiyo.inference.timeout");
      expect(events.every((e) => e.level === TelemetryLevel.CRITICAL)).toBe(true);
      expect(events[0]?.attributes).toMatchObject({ packetId: "pkt-0", policyVersion: "tamiyo-mlp-v1" });
      const jsm = await jetStreamManagerOf(s.bus);
      const info = await jsm.streams.info(streamName(s.ns, "commands"));
      expect(info.state.messages).toBe(0);
    } finally {
      h.drain("test done");
      await h.done;
      await s.close();
    }
  });
});
