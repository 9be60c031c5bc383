import { encode as msgpack } from "@msgpack/msgpack";
import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BusConnection, connectBus } from "../../bus/connection.ts";
import { ensureBucket } from "../../bus/jetstream/ensure.ts";
import { openBucket } from "../../bus/kv.ts";
import { storeName, WORKER_SETTINGS_KEY } from "../../contracts/stores.ts";
import { startNatsServer, type TestNatsServer } from "../../test/nats-server.ts";
import { kvSettingsSource, settingsKeyLabel } from "./settings-source.ts";
import {
  type SettingsApplied,
  SettingsLoadError,
  type SettingsRejected,
  SettingsWatcher,
} from "./settings-watcher.ts";

let server: TestNatsServer;
let bus: BusConnection;
let watcherRef: SettingsWatcher | undefined;
let n = 0;

beforeAll(async () => {
  server = await startNatsServer();
});

afterAll(async () => {
  await server?.stop();
});

/** A fresh namespace with its settings bucket, and a connection that routes the bus's rejections like the actor does. */
async function setup(): Promise<string> {
  const ns = `settings${n++}`;
  bus = await connectBus({
    name: "settings-test",
    namespace: ns,
    ...server.address,
    observer: {
      onEvent: (e) => {
        if (e.name === "bus.message_rejected" && e.attributes.subject === settingsKeyLabel(ns)) {
          watcherRef?.rejectInvalid(String(e.attributes.reason), String(e.attributes.field));
        }
      },
    },
  });
  await ensureBucket(bus, "settings");
  return ns;
}

async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("worker settings from the KV bucket (real nats-server)", () => {
  it("starts from the schema defaults, applies valid changes live, rejects invalid ones and keeps the old value", async () => {
    const ns = await setup();
    const watcher = await SettingsWatcher.load(await kvSettingsSource(bus));
    watcherRef = watcher;
    expect(watcher.origin).toBe("schema-defaults");
    expect(watcher.settings.worker.concurrency).toBe(4);
    const applied: SettingsApplied[] = [];
    const rejected: SettingsRejected[] = [];
    await watcher.watch({
      onApplied: (c) => applied.push(c),
      onRejected: (r) => rejected.push(r),
      onError: (e) => {
        throw e;
      },
    });
    const bucket = await openBucket(bus, "settings");
    const rev = await bucket.put(WORKER_SETTINGS_KEY, {
      worker: { concurrency: 8 },
      cadence: { heartbeatIntervalMs: 200 },
    });
    await until(() => applied.length === 1, "the valid change");
    expect(applied[0]?.revision).toBe(rev);
    expect(applied[0]?.changed).toEqual(["worker.concurrency", "cadence.heartbeatIntervalMs"]);
    expect(watcher.settings.worker.concurrency).toBe(8);

    // An invalid value written around the typed bucket (as a faulty writer would).
    const raw = await new Kvm(bus.nc).open(storeName(ns, "settings"));
    await raw.put(WORKER_SETTINGS_KEY, msgpack({ worker: { concurrency: 0 } }));
    await until(() => rejected.length === 1, "the rejection");
    expect(rejected[0]?.field).toBe("worker.concurrency");
    expect(watcher.settings.worker.concurrency).toBe(8);

    await bucket.delete(WORKER_SETTINGS_KEY);
    await until(() => rejected.length === 2, "the deletion's rejection");
    expect(rejected[1]?.reason).toBe("the settings key was deleted");
    expect(watcher.settings.worker.concurrency).toBe(8);

    await bucket.put(WORKER_SETTINGS_KEY, { worker: { concurrency: 2 } });
    await until(() => applied.length === 2, "the next valid change");
    expect(watcher.settings.worker.concurrency).toBe(2);
    expect(watcher.settings.cadence.heartbeatIntervalMs).toBe(1_000);
    await watcher.stop();
    await bus.close();
  });

  it("loads a stored value, and refuses to start from an invalid one naming the field", async () => {
    const ns = await setup();
    const bucket = await openBucket(bus, "settings");
    await bucket.put(WORKER_SETTINGS_KEY, { timeouts: { decisionDeadlineMs: 40 } });
    const watcher = await SettingsWatcher.load(await kvSettingsSource(bus));
    expect(watcher.origin).toBe("stored");
    expect(watcher.settings.timeouts.decisionDeadlineMs).toBe(40);
    const raw = await new Kvm(bus.nc).open(storeName(ns, "settings"));
    await raw.put(WORKER_SETTINGS_KEY, msgpack({ cadence: { heartbeatIntervalMs: "fast" } }));
    const error = await SettingsWatcher.load(await kvSettingsSource(bus)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SettingsLoadError);
    expect((error as Error).message).toContain("cadence.heartbeatIntervalMs");
    await bus.close();
  });

  it("fails when the settings bucket does not exist", async () => {
    bus = await connectBus({ name: "settings-test", namespace: `nobucket${n++}`, ...server.address });
    await expect(kvSettingsSource(bus)).rejects.toThrow(/KV bucket nobucket\d+_settings does not exist/);
    await bus.close();
  });
});
