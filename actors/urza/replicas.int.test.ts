import { describe, expect, it } from "vitest";
import { request } from "../../bus/typed.ts";
import { actorStage } from "../../test/actor-stage.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { until } from "../../test/until.ts";
import { startActor } from "../runtime/actor.ts";
import { buildLibrary, libraryConfigs } from "./library.ts";
import { actor } from "./main.ts";

const fixture = useNatsServer();
const known = buildLibrary(libraryConfigs(), 0)[0]?.descriptor;
if (known === undefined) throw new Error("the library is empty");

describe("two urza replicas (real nats-server, onnxruntime)", () => {
  it("share the prefetch requests through the queue group: each answers some, none twice", async () => {
    const s = await actorStage(fixture, "urza");
    const replicas = ["urza-a", "urza-b"].map((instance) =>
      startActor(actor, { env: { ...s.env, ESPER_INSTANCE_ID: instance }, handleSignals: false }),
    );
    try {
      await until(
        () => replicas.every((h) => h.lifecycle.state === "running"),
        "both replicas running",
        60_000,
      );
      const n = 40;
      const answers = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          request(
            s.bus,
            "urzaPrefetch",
            {
              requestId: `req-${i}`,
              blueprintId: known.blueprintId,
              trainingRunId: s.run,
              issuedAt: Date.now(),
            },
            { timeoutMs: 20_000 },
          ),
        ),
      );
      expect(answers.every((a) => a.status === "ready")).toBe(true);
      const handled = async (instance: string): Promise<number> => {
        const reply = await request(
          s.bus,
          "controlInstance",
          { requestId: `status-${instance}`, verb: "status" },
          { params: { actor: "urza", instance }, timeoutMs: 5_000 },
        );
        const status = JSON.parse(reply.message) as { mailboxes: { name: string; handled: number }[] };
        return status.mailboxes.find((m) => m.name === "prefetch")?.handled ?? -1;
      };
      const counts = [await handled("urza-a"), await handled("urza-b")];
      expect(counts[0]).toBeGreaterThan(0);
      expect(counts[1]).toBeGreaterThan(0);
      expect((counts[0] ?? 0) + (counts[1] ?? 0)).toBe(n);
    } finally {
      for (const h of replicas) h.drain("test done");
      await Promise.all(replicas.map((h) => h.done));
      await s.close();
    }
  }, 90_000);
});
