import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MessageInput } from "../contracts/registry.ts";
import { sampleOf } from "../contracts/testing/samples.ts";
import { useNatsServer } from "../test/bus-fixture.ts";
import { type BusConnection, connectBus } from "./connection.ts";
import { consume } from "./jetstream/consume.ts";
import { ensureResources } from "./jetstream/ensure.ts";
import { publishToStream } from "./jetstream/publish.ts";

const fixture = useNatsServer();
let producer: BusConnection;
let worker: BusConnection;
const ns = `t${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  const fast = { reconnectBaseMs: 50, reconnectMaxMs: 250 };
  producer = await connectBus({ ...fixture.server.address, ...fast, name: "fault-producer", namespace: ns });
  worker = await connectBus({ ...fixture.server.address, ...fast, name: "fault-worker", namespace: ns });
  await ensureResources(producer);
});
afterAll(async () => {
  await producer.close();
  await worker.close();
});

function report(i: number): MessageInput<"SeedReport"> {
  return { ...sampleOf("SeedReport", i + 1), trainingRunId: "run-1", reportId: `r${i}` };
}

describe("server killed and restarted mid-stream", () => {
  it("reconnects and loses no acknowledged JetStream message", async () => {
    const seen = new Set<string>();
    const consumer = await consume(worker, { name: "kasmina-seed-reports", run: "run-1" }, (m) => {
      seen.add(m.reportId);
    });
    const acked: string[] = [];
    const total = 300;
    const killAt = 100;
    let restarted: Promise<void> | undefined;
    for (let i = 0; i < total; i++) {
      if (i === killAt) {
        await fixture.server.kill();
        restarted = new Promise((r) => setTimeout(r, 300)).then(() => fixture.server.restart());
      }
      const ack = await publishToStream(producer, "seedReport", report(i), {
        params: { run: "run-1" },
        messageId: `r${i}`,
        deadlineMs: 15_000,
      });
      acked.push(ack.messageId);
    }
    await restarted;
    expect(acked).toHaveLength(total);
    expect(producer.metrics.snapshot().reconnects).toBeGreaterThanOrEqual(1);
    await expect
      .poll(() => acked.filter((id) => !seen.has(id)).length, { timeout: 20_000, interval: 100 })
      .toBe(0);
    expect(worker.metrics.snapshot().reconnects).toBeGreaterThanOrEqual(1);
    await consumer.stop();
  }, 60_000);
});
