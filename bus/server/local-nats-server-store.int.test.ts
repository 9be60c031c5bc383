import { describe, expect, it } from "vitest";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { connectBus } from "../connection.ts";
import { ensureResources } from "../jetstream/ensure.ts";

const fixture = useNatsServer();

describe("a local nats-server's JetStream reservations", () => {
  it("take the declared resources of 16 namespaces whatever the free disk (max_file_store 1 TiB)", async () => {
    for (let n = 0; n < 16; n++) {
      const bus = await connectBus({ name: `ns-${n}`, namespace: `many${n}`, ...fixture.server.address });
      try {
        const report = await ensureResources(bus);
        expect(report.created.length).toBeGreaterThan(0);
      } finally {
        await bus.close();
      }
    }
  }, 120_000);
});
