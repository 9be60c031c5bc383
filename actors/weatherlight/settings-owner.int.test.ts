import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBucket } from "../../bus/kv.ts";
import { request } from "../../bus/typed.ts";
import type { SettingsReply, SettingsRequest } from "../../contracts/messages/settings-request.ts";
import type { WorkerSettings } from "../../contracts/messages/worker-settings.ts";
import { WORKER_SETTINGS_KEY } from "../../contracts/stores.ts";
import { type ActorStage, actorStage } from "../../test/actor-stage.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { type ActorHandle, startActor } from "../runtime/actor.ts";
import type { ActorContext, ActorDefinition } from "../runtime/actor-types.ts";
import type { SettingsApplied } from "../runtime/settings-watcher.ts";
import { type SettingsOwner, settingsSetRequest, startSettingsOwner } from "./settings-owner.ts";

const KEY = "settings-owner-test-key-0123456789";
const fixture = useNatsServer();

let stage: ActorStage;
const owners: SettingsOwner[] = [];
/** Stand-ins for the other actors of a stack, each told of settings changes by its runtime. */
const PROBES = ["urza", "kasmina", "tamiyo", "tolaria"] as const;
const probes = new Map<string, { ctx: ActorContext; changes: SettingsApplied[] }>();
const handles: ActorHandle[] = [];

/** A Weatherlight-like supervisor: writes the initial settings (supervisor role) and runs the settings owner. */
function weatherlightLike(): ActorDefinition {
  return {
    name: "weatherlight",
    supervisor: { initialSettings: () => ({}) },
    async start(ctx) {
      owners.push(await startSettingsOwner(ctx));
    },
  };
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function ask(req: SettingsRequest): Promise<SettingsReply> {
  return request(stage.bus, "weatherlightSettings", req, { timeoutMs: 5_000 });
}

const get = (): Promise<SettingsReply> =>
  ask({ requestId: `get-${Math.random()}`, verb: "get", requestedBy: "test" });

async function storedSettings(): Promise<{ revision: number; value: WorkerSettings }> {
  const v = await (await openBucket(stage.bus, "settings")).get(WORKER_SETTINGS_KEY);
  if (v === undefined) throw new Error("no stored settings");
  return v;
}

beforeAll(async () => {
  stage = await actorStage(fixture, "weatherlight", { resources: "none", signingKey: KEY });
  const wl = startActor(weatherlightLike(), { env: stage.env, handleSignals: false });
  handles.push(wl);
  await until(() => wl.lifecycle.state === "running", "weatherlight running");
  for (const name of PROBES) {
    const probe = startActor(
      {
        name,
        async start(ctx) {
          probes.set(name, { ctx, changes: [] });
        },
        onSettings(change) {
          probes.get(name)?.changes.push(change);
        },
      },
      { env: { ...stage.env, ESPER_INSTANCE_ID: `${name}-1` }, handleSignals: false },
    );
    handles.push(probe);
    await until(() => probe.lifecycle.state === "running", `${name} running`);
  }
});

afterAll(async () => {
  for (const h of handles) h.drain("test end");
  await Promise.all(handles.map((h) => h.done));
  await stage?.close();
});

describe("the settings owner (real nats-server, in-process actors)", () => {
  it("answers get with the stored settings and their revision", async () => {
    const reply = await get();
    const stored = await storedSettings();
    expect(reply).toMatchObject({ ok: true, revision: stored.value.revision, settings: stored.value });
  });

  it("applies a signed set live in every other actor, replies the new revision and audits the change", async () => {
    const before = (await get()).revision;
    const reply = await ask(
      settingsSetRequest([{ path: "timeouts.decisionDeadlineMs", value: 500 }], KEY, {
        requestedBy: "operator@test",
        expectedRevision: before,
      }),
    );
    expect(reply).toMatchObject({
      ok: true,
      revision: before + 1,
      changed: [{ path: "timeouts.decisionDeadlineMs", from: 2_000, to: 500 }],
    });
    const seen = () =>
      [...probes.values()].filter((p) => p.ctx.settings().timeouts.decisionDeadlineMs === 500);
    await until(() => seen().length === PROBES.length, "every actor to see 500");
    for (const p of probes.values()) {
      expect(p.ctx.settings().revision).toBe(before + 1);
      expect(p.changes.at(-1)?.changed).toEqual(["revision", "timeouts.decisionDeadlineMs"]);
    }
    expect((await storedSettings()).value.timeouts.decisionDeadlineMs).toBe(500);
    await until(() => stage.events("weatherlight.settings.changed").length === 1, "the audit event");
    expect(stage.events("weatherlight.settings.changed")[0]?.attributes).toMatchObject({
      requestedBy: "operator@test",
      previousRevision: String(before),
      revision: String(before + 1),
      "change.timeouts.decisionDeadlineMs": "2000 → 500",
    });
  });

  it("refuses an invalid set naming the field, and writes nothing", async () => {
    const stored = await storedSettings();
    const reply = await ask(
      settingsSetRequest([{ path: "worker.concurrency", value: 0 }], KEY, { requestedBy: "operator@test" }),
    );
    expect(reply).toMatchObject({
      ok: false,
      revision: stored.value.revision,
      error: { field: "worker.concurrency" },
    });
    expect(await storedSettings()).toEqual(stored);
    await until(() => stage.events("weatherlight.settings.refused").length >= 1, "the refusal event");
  });

  it("refuses an unsigned, a forged and a replayed set, and writes nothing", async () => {
    const stored = await storedSettings();
    const changes = [{ path: "worker.concurrency", value: 2 }];
    const unsigned = await ask({ requestId: "u1", verb: "set", requestedBy: "mallory", changes });
    expect(unsigned.error).toEqual({
      field: "security",
      reason: "'set' must be signed (security is missing)",
    });
    const forged = await ask(
      settingsSetRequest(changes, "not-the-key-0123456789abcdef", { requestedBy: "mallory" }),
    );
    expect(forged.error).toEqual({ field: "security", reason: "the signature is invalid" });
    const tampered = {
      ...settingsSetRequest(changes, KEY, { requestedBy: "op" }),
      changes: [{ path: "worker.concurrency", value: 3 }],
    };
    expect((await ask(tampered)).error?.reason).toBe("the signature is invalid");
    const stale = await ask(
      settingsSetRequest(changes, KEY, { requestedBy: "op", issuedAt: Date.now() - 120_000 }),
    );
    expect(stale.error?.reason).toMatch(/stale/);
    expect(await storedSettings()).toEqual(stored);
    const once = settingsSetRequest(changes, KEY, { requestedBy: "op" });
    expect((await ask(once)).ok).toBe(true);
    const replayed = await ask(once);
    expect(replayed).toMatchObject({
      ok: false,
      error: { field: "security", reason: expect.stringMatching(/replay/) },
    });
  });

  it("refuses a set whose expected revision is not the stored one", async () => {
    const stored = await storedSettings();
    const reply = await ask(
      settingsSetRequest([{ path: "worker.concurrency", value: 5 }], KEY, {
        requestedBy: "op",
        expectedRevision: stored.value.revision - 1,
      }),
    );
    expect(reply.error?.field).toBe("expectedRevision");
    expect(await storedSettings()).toEqual(stored);
  });

  it("with two owners racing, every accepted set counts one revision and a conflict is refused (no lost update)", async () => {
    const second = startActor(weatherlightLike(), {
      env: { ...stage.env, ESPER_INSTANCE_ID: "weatherlight-2" },
      handleSignals: false,
    });
    handles.push(second);
    await until(() => second.lifecycle.state === "running", "the second weatherlight running");
    const before = (await storedSettings()).value.revision;
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        ask(
          settingsSetRequest([{ path: "emergency.tokenBucketCapacity", value: 200 + i }], KEY, {
            requestedBy: `racer-${i}`,
          }),
        ),
      ),
    );
    const accepted = replies.filter((r) => r.ok).length;
    const conflicts = replies.filter((r) => r.error?.field === "revision");
    expect(accepted + conflicts.length).toBe(40);
    expect(conflicts.length).toBeGreaterThan(0);
    expect((await storedSettings()).value.revision).toBe(before + accepted);
    expect(owners.length).toBe(2);
    for (const c of conflicts) expect(c.error?.reason).toMatch(/another writer changed the settings/);
  });
});
