import { Kvm } from "@nats-io/kv";
import { describe, expect, it } from "vitest";
import { openBucket, type TypedBucket } from "../../bus/kv.ts";
import { publish } from "../../bus/typed.ts";
import { BlueprintTier } from "../../contracts/enums.ts";
import type { BlueprintDescriptor } from "../../contracts/index.ts";
import { storeName } from "../../contracts/stores.ts";
import { actorStage } from "../../test/actor-stage.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
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
  it("loads the bucket at start and follows blueprints published after it (catalog.update)", async () => {
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
      publish(s.bus, "catalogUpdate", {
        blueprintId: "bp-b",
        artifactRef: "b".repeat(64),
        checksum: "b".repeat(64),
        guardDigest: "0".repeat(64),
        compileMs: 1,
        prewarmMs: 1,
      });
      await until(() => artifactOf(view(), "bp-b") !== undefined, "bp-b in the view", 5_000);

      await bucket.put("bp-a", descriptor("bp-a", "c"));
      publish(s.bus, "catalogUpdate", {
        blueprintId: "bp-a",
        artifactRef: "c".repeat(64),
        checksum: "c".repeat(64),
        guardDigest: "0".repeat(64),
        compileMs: 1,
        prewarmMs: 1,
      });
      await until(() => artifactOf(view(), "bp-a") === "c".repeat(64), "bp-a republished", 5_000);
    } finally {
      h.drain("test done");
      await h.done;
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

  it("keeps the newer revision when an older read finishes after it", async () => {
    const s = await actorStage(fixture, "viewer");
    try {
      const bucket = await openBucket(s.bus, "catalog");
      await bucket.put("bp-r", descriptor("bp-r", "1"));
      let release: () => void = () => {};
      const held = new Promise<void>((r) => {
        release = r;
      });
      let first = true;
      const view = new CatalogView({
        ...bucket,
        async get(key) {
          const entry = await bucket.get(key);
          if (first) {
            first = false;
            await held;
          }
          return entry;
        },
      });
      const slow = view.descriptor("bp-r");
      await bucket.put("bp-r", descriptor("bp-r", "2"));
      await view.refresh("bp-r");
      release();
      expect((await slow)?.artifactSha256).toBe("2".repeat(64));
      expect(artifactOf(view, "bp-r")).toBe("2".repeat(64));
    } finally {
      await s.close();
    }
  });
});
