import { describe, expect, it } from "vitest";
import { openBucket } from "../../bus/kv.ts";
import { WORKER_SETTINGS_KEY } from "../../contracts/stores.ts";
import { useTestBus } from "../../test/bus-fixture.ts";
import { bootstrapSettings } from "./settings-bootstrap.ts";

const tb = useTestBus("bootstrap-test");

describe("bootstrapSettings (real nats-server)", () => {
  it("writes once, leaves equal settings alone whatever their revision, and never lowers the revision", async () => {
    expect((await bootstrapSettings(tb.bus, {})).writtenRevision).toBeDefined();
    const bucket = await openBucket(tb.bus, "settings");
    const first = await bucket.get(WORKER_SETTINGS_KEY);
    await bucket.put(WORKER_SETTINGS_KEY, {
      ...first?.value,
      revision: 7,
      timeouts: { ...first?.value.timeouts, decisionDeadlineMs: 500 },
    });
    // a restarted supervisor with its configured settings: written over the change, revision 8
    expect((await bootstrapSettings(tb.bus, {})).writtenRevision).toBeDefined();
    const after = (await bucket.get(WORKER_SETTINGS_KEY))?.value;
    expect(after?.revision).toBe(8);
    expect(after?.timeouts.decisionDeadlineMs).toBe(2_000);
    expect((await bootstrapSettings(tb.bus, {})).writtenRevision).toBeUndefined();
  });
});
