import { describe, expect, it } from "vitest";
import { encode } from "../contracts/codec.ts";
import { ContractError } from "../contracts/errors.ts";
import { WORKER_SETTINGS_KEY } from "../contracts/stores.ts";
import { sampleOf } from "../contracts/testing/samples.ts";
import { useTestBus } from "../test/bus-fixture.ts";
import { connectBus } from "./connection.ts";
import { type KvChange, KvRevisionConflictError, openBucket } from "./kv.ts";
import { fieldLabel } from "./metric-labels.ts";
import { ArtifactNotFoundError, openArtifactStore, sha256Hex } from "./objects.ts";

const tb = useTestBus("stores-test", { ensure: true });
const { ns } = tb;

describe("typed KV buckets", () => {
  it("puts, gets and watches validated values", async () => {
    const settings = await openBucket(tb.bus, "settings");
    expect(settings.name).toBe(`${ns}_settings`);
    expect(await settings.get(WORKER_SETTINGS_KEY)).toBeUndefined();
    const v1 = sampleOf("WorkerSettings", 1);
    const rev = await settings.put(WORKER_SETTINGS_KEY, v1);
    const got = await settings.get(WORKER_SETTINGS_KEY);
    expect(got?.revision).toBe(rev);
    expect(got?.value).toEqual(await settings.get(WORKER_SETTINGS_KEY).then((g) => g?.value));

    const changes: KvChange<unknown>[] = [];
    const watch = await settings.watch((c) => changes.push(c), WORKER_SETTINGS_KEY);
    await expect.poll(() => changes.length).toBe(1);
    const rev2 = await settings.update(WORKER_SETTINGS_KEY, sampleOf("WorkerSettings", 2), rev);
    await expect.poll(() => changes.length).toBe(2);
    expect(changes[1]).toMatchObject({ kind: "put", revision: rev2 });
    await expect(settings.update(WORKER_SETTINGS_KEY, v1, rev)).rejects.toBeInstanceOf(
      KvRevisionConflictError,
    );
    await watch.stop();
  });

  it("refuses invalid values on write and on read, naming the field", async () => {
    const catalog = await openBucket(tb.bus, "catalog");
    const bad = { ...sampleOf("BlueprintDescriptor", 1), blueprintId: "" };
    await expect(catalog.put("bp", bad)).rejects.toBeInstanceOf(ContractError);
    const { Kvm } = await import("@nats-io/kv");
    const raw = await new Kvm(tb.bus.nc).open(catalog.name);
    await raw.put("junk", encode("Heartbeat", sampleOf("Heartbeat", 1)));
    const err = await catalog.get("junk").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContractError);
    expect(tb.bus.metrics.snapshot().rejected).toHaveProperty(
      [`kv ${catalog.name} ${fieldLabel("BlueprintDescriptor", (err as ContractError).path)}`],
      1,
    );
    const seen: string[] = [];
    await catalog.put("good", sampleOf("BlueprintDescriptor", 3));
    const watch = await catalog.watch((c) => seen.push(c.key));
    await expect.poll(() => seen).toEqual(["good"]);
    await watch.stop();
  });

  it("fails clearly when the bucket was never created", async () => {
    const other = await connectBus({ ...tb.server.address, name: "no-kv", namespace: `${ns}y` });
    await expect(openBucket(other, "settings")).rejects.toThrow(/KV bucket .*_settings does not exist/);
    await expect(openArtifactStore(other, "kernels")).rejects.toThrow(
      /object store .*_kernels does not exist/,
    );
    await other.close();
  });
});

describe("artifact object store", () => {
  it("stores by sha256 and returns verified bytes", async () => {
    const kernels = await openArtifactStore(tb.bus, "kernels");
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 31) % 251);
    const stored = await kernels.put(bytes, "test kernel");
    expect(stored).toEqual({ sha256: sha256Hex(bytes), size: bytes.byteLength });
    expect(await kernels.put(bytes)).toEqual(stored);
    expect(await kernels.has(stored.sha256)).toBe(true);
    expect(await kernels.get(stored.sha256)).toEqual(bytes);
    const missing = sha256Hex(new Uint8Array([1, 2, 3]));
    await expect(kernels.get(missing)).rejects.toBeInstanceOf(ArtifactNotFoundError);
    await expect(kernels.get("not-a-hash")).rejects.toThrow(/sha256/);
  });
});
