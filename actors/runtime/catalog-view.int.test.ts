import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { describe, expect, it } from "vitest";
import type { BusConnection } from "../../bus/connection.ts";
import { openBucket, type TypedBucket } from "../../bus/kv.ts";
import { publish } from "../../bus/typed.ts";
import { BlueprintTier } from "../../contracts/enums.ts";
import type { BlueprintDescriptor } from "../../contracts/index.ts";
import { storeName } from "../../contracts/stores.ts";
import { type ActorStage, actorStage } from "../../test/actor-stage.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { relayTo } from "../../test/tcp-relay.ts";
import { until } from "../../test/until.ts";
import { startActor } from "./actor.ts";
import type { ActorDefinition } from "./actor-types.ts";
import { CatalogView, openCatalogView } from "./catalog-view.ts";
import { ActorExitCode } from "./exit-codes.ts";

const fixture = useNatsServer();

function descriptor(blueprintId: string, shaDigit: string): BlueprintDescriptor {
  return {
    blueprintId,
    name: blueprintId,
    tier: BlueprintTier.SAFE,
    allowedParameters: {},
    risk: 0.1,
    stage: 0,
    quarantineOnly: false,
    approvalRequired: false,
    description: `test blueprint ${blueprintId}`,
    parameterCount: 1,
    inputWidth: 4,
    outputWidth: 4,
    artifactSha256: shaDigit.repeat(64),
    createdAt: 1_700_000_000_000,
  };
}

/** A KvChange of the catalog bucket, as its watch delivers it. */
type CatalogChange = Parameters<CatalogView["apply"]>[0];

const put = (key: string, shaDigit: string, revision: number): CatalogChange => ({
  kind: "put",
  key,
  value: descriptor(key, shaDigit),
  revision,
});

/** Announces `blueprintId` on `catalog.update`, as Urza's publisher does after each put. */
function announce(bus: BusConnection, blueprintId: string, shaDigit: string): void {
  publish(bus, "catalogUpdate", {
    blueprintId,
    artifactRef: shaDigit.repeat(64),
    checksum: shaDigit.repeat(64),
    guardDigest: "0".repeat(64),
    compileMs: 1,
    prewarmMs: 1,
  });
}

/** Whether the server sees no client bound to any consumer of the stage's catalog bucket (the view's watch is cut off). */
async function watchUnbound(s: ActorStage): Promise<boolean> {
  const jsm = await jetstreamManager(s.bus.nc);
  for await (const c of jsm.consumers.list(`KV_${storeName(s.ns, "catalog")}`))
    if (c.push_bound) return false;
  return true;
}

/** Retries `write` until the restarted server's JetStream answers it. */
async function whenAnswered(write: () => Promise<unknown>, what: string): Promise<void> {
  await until(
    () =>
      write().then(
        () => true,
        () => false,
      ),
    what,
  );
}

/** An actor that only opens the catalog view, as Urza and Tamiyo do at start. */
function viewActor(): { actor: ActorDefinition; view: () => CatalogView } {
  let opened: CatalogView | undefined;
  return {
    actor: {
      name: "viewer",
      async start(ctx) {
        opened = await openCatalogView(ctx);
      },
    },
    view() {
      if (opened === undefined) throw new Error("the view was read before the actor started");
      return opened;
    },
  };
}

/** `bucket` with every `get` counted. */
function counted(bucket: TypedBucket<"catalog">): { bucket: TypedBucket<"catalog">; gets: string[] } {
  const gets: string[] = [];
  return {
    gets,
    bucket: {
      ...bucket,
      get(key) {
        gets.push(key);
        return bucket.get(key);
      },
    },
  };
}

const artifactOf = (view: CatalogView, id: string): string | undefined =>
  view.descriptors().find((d) => d.blueprintId === id)?.artifactSha256;

describe("CatalogView (real nats-server)", () => {
  it("loads the bucket at start and follows every later put and delete through its watch", async () => {
    const s = await actorStage(fixture, "viewer");
    const bucket = await openBucket(s.bus, "catalog");
    await bucket.put("bp-a", descriptor("bp-a", "a"));
    const { actor, view } = viewActor();
    const h = startActor(actor, { env: s.env, handleSignals: false });
    try {
      await until(() => h.lifecycle.state !== "starting" && h.lifecycle.state !== "preflight", "started");
      expect(h.lifecycle.state).toBe("running");
      expect(
        view()
          .descriptors()
          .map((d) => d.blueprintId),
      ).toEqual(["bp-a"]);

      await bucket.put("bp-b", descriptor("bp-b", "b"));
      await until(() => artifactOf(view(), "bp-b") !== undefined, "bp-b in the view", 5_000);
      await bucket.put("bp-a", descriptor("bp-a", "c"));
      await until(() => artifactOf(view(), "bp-a") === "c".repeat(64), "bp-a republished", 5_000);
      await bucket.delete("bp-b");
      await until(() => artifactOf(view(), "bp-b") === undefined, "bp-b deleted", 5_000);
      expect(view().descriptors()).toEqual([descriptor("bp-a", "c")]);
    } finally {
      h.drain("test done");
      await h.done;
      await s.close();
    }
  });

  it("catches up after its connection was cut: a put, a delete and a republish made meanwhile", async () => {
    const s = await actorStage(fixture, "viewer");
    const relay = await relayTo(fixture.server.url);
    const bucket = await openBucket(s.bus, "catalog");
    await bucket.put("bp-gone", descriptor("bp-gone", "1"));
    await bucket.put("bp-changed", descriptor("bp-changed", "2"));
    const { actor, view } = viewActor();
    const h = startActor(actor, { env: { ...s.env, ESPER_NATS_URL: relay.url }, handleSignals: false });
    try {
      await until(() => h.lifecycle.state === "running", "started");
      relay.cut();
      await until(() => watchUnbound(s), "the server sees the view's watch gone", 10_000);

      await bucket.put("bp-new", descriptor("bp-new", "3"));
      announce(s.bus, "bp-new", "3");
      await bucket.delete("bp-gone");
      announce(s.bus, "bp-gone", "1");
      await bucket.put("bp-changed", descriptor("bp-changed", "4"));
      announce(s.bus, "bp-changed", "4");
      await s.bus.nc.flush();
      relay.heal();

      await until(
        () => view().descriptors().length === 2 && artifactOf(view(), "bp-changed") === "4".repeat(64),
        "the changes made while cut in the view",
        15_000,
      );
      expect(new Set(view().descriptors())).toEqual(
        new Set([descriptor("bp-new", "3"), descriptor("bp-changed", "4")]),
      );
    } finally {
      h.drain("test done");
      await h.done;
      await relay.close();
      await s.close();
    }
  });

  it("catches up after the server restarted while its connection was down", async () => {
    const s = await actorStage(fixture, "viewer");
    const relay = await relayTo(fixture.server.url);
    const bucket = await openBucket(s.bus, "catalog");
    await bucket.put("bp-gone", descriptor("bp-gone", "1"));
    await bucket.put("bp-changed", descriptor("bp-changed", "2"));
    const { actor, view } = viewActor();
    const h = startActor(actor, { env: { ...s.env, ESPER_NATS_URL: relay.url }, handleSignals: false });
    try {
      await until(() => h.lifecycle.state === "running", "started");
      relay.cut();
      await fixture.server.restart();
      await until(() => s.bus.metrics.snapshot().reconnects >= 1, "the test connection back");

      await whenAnswered(() => bucket.put("bp-new", descriptor("bp-new", "3")), "bp-new stored");
      announce(s.bus, "bp-new", "3");
      await whenAnswered(() => bucket.delete("bp-gone"), "bp-gone deleted");
      announce(s.bus, "bp-gone", "1");
      await whenAnswered(() => bucket.put("bp-changed", descriptor("bp-changed", "4")), "bp-changed stored");
      announce(s.bus, "bp-changed", "4");
      await s.bus.nc.flush();
      relay.heal();

      await until(
        () => view().descriptors().length === 2 && artifactOf(view(), "bp-changed") === "4".repeat(64),
        "the changes made while down in the view",
        40_000,
      );
      expect(new Set(view().descriptors())).toEqual(
        new Set([descriptor("bp-new", "3"), descriptor("bp-changed", "4")]),
      );
    } finally {
      h.drain("test done");
      await h.done;
      await relay.close();
      await s.close();
    }
  }, 60_000);

  it("stops its watch in the connection's close hook", async () => {
    const s = await actorStage(fixture, "viewer");
    try {
      const hooks: ((graceMs: number) => Promise<void>)[] = [];
      const bus: BusConnection = {
        ...s.bus,
        onClose(hook) {
          hooks.push(hook);
          return () => {};
        },
      };
      await openCatalogView({ bus });
      const bound = async (): Promise<number> => {
        const jsm = await jetstreamManager(s.bus.nc);
        let n = 0;
        for await (const c of jsm.consumers.list(`KV_${storeName(s.ns, "catalog")}`)) if (c.push_bound) n++;
        return n;
      };
      expect(await bound()).toBe(1);
      expect(hooks).toHaveLength(1);
      await Promise.all(hooks.map((hook) => hook(1_000)));
      await until(
        async () => (await bound()) === 0,
        "the watch unbound while the connection stays open",
        5_000,
      );
    } finally {
      await s.close();
    }
  });

  it("fails the start when a stored descriptor is invalid, naming its key", async () => {
    const s = await actorStage(fixture, "viewer");
    try {
      const kv = await new Kvm(s.bus.nc).open(storeName(s.ns, "catalog"));
      await kv.put("bp-broken", new Uint8Array([0xc1]));
      const { actor } = viewActor();
      const h = startActor(actor, { env: s.env, handleSignals: false });
      expect(await h.done).toBe(ActorExitCode.crashed);
      expect(h.lifecycle.failureReason).toContain("bp-broken");
    } finally {
      await s.close();
    }
  });

  it("keeps the previous descriptor when an invalid one is stored after the start", async () => {
    const s = await actorStage(fixture, "viewer");
    const bucket = await openBucket(s.bus, "catalog");
    await bucket.put("bp-x", descriptor("bp-x", "5"));
    const { actor, view } = viewActor();
    const h = startActor(actor, { env: s.env, handleSignals: false });
    try {
      await until(() => h.lifecycle.state === "running", "started");
      const kv = await new Kvm(s.bus.nc).open(storeName(s.ns, "catalog"));
      await kv.put("bp-x", new Uint8Array([0xc1]));
      await bucket.put("bp-after", descriptor("bp-after", "6"));
      await until(() => artifactOf(view(), "bp-after") !== undefined, "bp-after in the view", 5_000);
      expect(await view().descriptor("bp-x")).toEqual(descriptor("bp-x", "5"));
      expect(artifactOf(view(), "bp-x")).toBe("5".repeat(64));
    } finally {
      h.drain("test done");
      await h.done;
      await s.close();
    }
  });

  it("reads a blueprint it does not hold through from the bucket once, then answers from memory", async () => {
    const s = await actorStage(fixture, "viewer");
    try {
      const bucket = await openBucket(s.bus, "catalog");
      const c = counted(bucket);
      const view = new CatalogView(c.bucket);
      await view.loadAll();
      await bucket.put("bp-late", descriptor("bp-late", "d"));
      expect((await view.descriptor("bp-late"))?.artifactSha256).toBe("d".repeat(64));
      expect(await view.descriptor("bp-late")).toEqual(descriptor("bp-late", "d"));
      expect(view.descriptors().map((d) => d.blueprintId)).toEqual(["bp-late"]);
      expect(c.gets).toEqual(["bp-late"]);

      expect(await view.descriptor("bp-none")).toBeUndefined();
      expect(c.gets).toEqual(["bp-late", "bp-none"]);
    } finally {
      await s.close();
    }
  });

  it("applies changes in revision order: an older put or delete changes nothing", async () => {
    const s = await actorStage(fixture, "viewer");
    try {
      const view = new CatalogView(await openBucket(s.bus, "catalog"));
      view.apply(put("bp-o", "2", 5));
      view.apply(put("bp-o", "1", 4));
      expect(artifactOf(view, "bp-o")).toBe("2".repeat(64));
      view.apply({ kind: "delete", key: "bp-o", revision: 3 });
      expect(artifactOf(view, "bp-o")).toBe("2".repeat(64));
      view.apply({ kind: "delete", key: "bp-o", revision: 6 });
      expect(artifactOf(view, "bp-o")).toBeUndefined();
      view.apply(put("bp-o", "3", 5));
      expect(view.descriptors()).toEqual([]);
      view.apply(put("bp-o", "4", 7));
      expect(view.descriptors()).toEqual([descriptor("bp-o", "4")]);
    } finally {
      await s.close();
    }
  });

  it("keeps the newer revision when an older read finishes after it", async () => {
    const s = await actorStage(fixture, "viewer");
    try {
      const bucket = await openBucket(s.bus, "catalog");
      await bucket.put("bp-r", descriptor("bp-r", "1"));
      const { view, release } = slowReadView(bucket);
      const slow = view.descriptor("bp-r");
      const revision = await bucket.put("bp-r", descriptor("bp-r", "2"));
      view.apply(put("bp-r", "2", revision));
      release();
      expect((await slow)?.artifactSha256).toBe("2".repeat(64));
      expect(artifactOf(view, "bp-r")).toBe("2".repeat(64));
    } finally {
      await s.close();
    }
  });

  it("does not bring back a deleted blueprint when an older read finishes after the deletion", async () => {
    const s = await actorStage(fixture, "viewer");
    try {
      const bucket = await openBucket(s.bus, "catalog");
      await bucket.put("bp-d", descriptor("bp-d", "1"));
      const { view, release } = slowReadView(bucket);
      const slow = view.descriptor("bp-d");
      await bucket.delete("bp-d");
      const entry = await new Kvm(s.bus.nc).open(storeName(s.ns, "catalog")).then((kv) => kv.get("bp-d"));
      if (entry === null) throw new Error("bp-d has no deletion marker");
      view.apply({ kind: "delete", key: "bp-d", revision: entry.revision });
      release();
      expect(await slow).toBeUndefined();
      expect(view.descriptors()).toEqual([]);
    } finally {
      await s.close();
    }
  });
});

/** A view over `bucket` whose reads wait until `release()`: an older read that finishes late. */
function slowReadView(bucket: TypedBucket<"catalog">): { view: CatalogView; release: () => void } {
  let release: () => void = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  const view = new CatalogView({
    ...bucket,
    async get(key) {
      const entry = await bucket.get(key);
      await held;
      return entry;
    },
  });
  return { view, release };
}
