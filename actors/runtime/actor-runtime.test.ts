import { describe, expect, it } from "vitest";
import { type BusConnection, connectBus } from "../../bus/connection.ts";
import { ensureBucket, ensureResources } from "../../bus/jetstream/ensure.ts";
import { publishToStream } from "../../bus/jetstream/publish.ts";
import { openBucket } from "../../bus/kv.ts";
import { BusRequestError, publish, request, subscribe } from "../../bus/typed.ts";
import { isCompiled } from "../../contracts/compiled.ts";
import { MessagePriority } from "../../contracts/enums.ts";
import type { Heartbeat } from "../../contracts/messages/runtime.ts";
import type { TelemetryEvent, TelemetryPacket } from "../../contracts/messages/telemetry.ts";
import type { WorkerSettingsInput } from "../../contracts/messages/worker-settings.ts";
import { type MessageType, messageSchemas } from "../../contracts/registry.ts";
import { storeName, WORKER_SETTINGS_KEY } from "../../contracts/stores.ts";
import { sampleOf } from "../../contracts/testing/samples.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { type ActorHandle, startActor } from "./actor.ts";
import type { ActorContext, ActorDefinition } from "./actor-types.ts";
import { signedControlRequest } from "./control-server.ts";
import { ActorExitCode } from "./exit-codes.ts";
import type { Mailbox } from "./mailbox.ts";
import type { SettingsApplied } from "./settings-watcher.ts";

const KEY = "runtime-test-signing-key-0123456789";
const fixture = useNatsServer();
const messageTypes = Object.keys(messageSchemas) as MessageType[];
let nsCounter = 0;

/** A namespace with its settings bucket (and optionally stored settings), a test connection and what it saw. */
interface Stage {
  readonly ns: string;
  readonly bus: BusConnection;
  readonly heartbeats: Heartbeat[];
  readonly packets: TelemetryPacket[];
  events(id: string): TelemetryEvent[];
  env(instance: string): Record<string, string>;
  close(): Promise<void>;
}

async function stage(actor: string, settings?: WorkerSettingsInput, bucket = true): Promise<Stage> {
  const ns = `rt${nsCounter++}${Math.random().toString(36).slice(2, 6)}`;
  const bus = await connectBus({ name: "runtime-test", namespace: ns, ...fixture.server.address });
  if (bucket) await ensureBucket(bus, "settings");
  if (settings) await (await openBucket(bus, "settings")).put(WORKER_SETTINGS_KEY, settings);
  const heartbeats: Heartbeat[] = [];
  const packets: TelemetryPacket[] = [];
  const subs = [
    subscribe(bus, "heartbeat", (hb) => void heartbeats.push(hb), { params: { actor } }),
    subscribe(bus, "telemetryRaw", (p) => void packets.push(p), { params: { actor } }),
  ];
  await bus.nc.flush();
  const address = fixture.server.address;
  return {
    ns,
    bus,
    heartbeats,
    packets,
    events: (id) => packets.flatMap((p) => p.events.filter((e) => e.eventId === id)),
    env: (instance) => ({
      ESPER_NAMESPACE: ns,
      ESPER_NATS_URL: address.servers as string,
      ...(address.user !== undefined && address.pass !== undefined
        ? { ESPER_NATS_USER: address.user, ESPER_NATS_PASS: address.pass }
        : {}),
      ESPER_INSTANCE_ID: instance,
      ESPER_RUN_ID: `run-${ns}`,
      ESPER_SIGNING_KEY: KEY,
      ESPER_LOG_LEVEL: "warn",
      ESPER_LOG_PRETTY: "0",
    }),
    async close() {
      await Promise.all(subs.map((s) => s.stop()));
      await bus.close();
    },
  };
}

function run(def: ActorDefinition, env: Record<string, string>): ActorHandle {
  return startActor(def, { env, handleSignals: false });
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A promise and its resolver. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

function heartbeatOf(actor: string, pid: number): Heartbeat {
  return { actor, instanceId: "src", pid, state: "running", uptimeMs: 1, timestampMs: 1, mailboxDepths: {} };
}

describe("actor runtime in this process (real nats-server)", () => {
  it("drains one of two instances by its id; the other keeps running and gets all of the queue group's messages", async () => {
    const s = await stage("pair");
    const boxes = new Map<string, Mailbox<unknown>>();
    const received = new Map<string, number>([
      ["a", 0],
      ["b", 0],
    ]);
    const release = gate();
    const def: ActorDefinition = {
      name: "pair",
      async start(ctx) {
        const me = ctx.process.instanceId;
        const box = ctx.subscribe(
          "heartbeat",
          async () => {
            received.set(me, (received.get(me) ?? 0) + 1);
          },
          { params: { actor: "feed" }, mailbox: "feed", mode: "ordered", queue: "pair-feed" },
        );
        boxes.set(me, box as Mailbox<unknown>);
        ctx.runTask("hold", async (signal) => {
          await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
          await release.promise;
        });
      },
    };
    const a = run(def, s.env("a"));
    const b = run(def, s.env("b"));
    try {
      await until(() => a.lifecycle.state === "running" && b.lifecycle.state === "running", "both running");
      const reply = await request(s.bus, "controlInstance", signedControlRequest("drain", KEY), {
        params: { actor: "pair", instance: "a" },
        timeoutMs: 5_000,
      });
      expect(reply).toMatchObject({ ok: true, instanceId: "a", message: "draining" });
      await until(() => boxes.get("a")?.isClosed === true, "a's mailbox closed by its drain");
      expect(a.lifecycle.state).toBe("draining");
      const before = received.get("b") ?? 0;
      for (let i = 1; i <= 20; i++)
        publish(s.bus, "heartbeat", heartbeatOf("feed", i), { params: { actor: "feed" } });
      await s.bus.nc.flush();
      await until(() => (received.get("b") ?? 0) === before + 20, "b to get all 20 messages");
      expect(boxes.get("a")?.metrics().droppedClosed).toBe(0);
      release.open();
      expect(await a.done).toBe(ActorExitCode.ok);
      expect(b.lifecycle.state).toBe("running");
      const ping = await request(
        s.bus,
        "controlInstance",
        { requestId: "p1", verb: "ping" },
        { params: { actor: "pair", instance: "b" }, timeoutMs: 5_000 },
      );
      expect(ping).toMatchObject({ ok: true, instanceId: "b", state: "running" });
      const readyHb = s.heartbeats.find((h) => h.instanceId === "b" && h.state === "running");
      expect(readyHb?.readyAtMs).toBeGreaterThan(0);
      expect(s.heartbeats.some((h) => h.instanceId === "b" && h.state === "starting")).toBe(true);
    } finally {
      release.open();
      a.drain("test end");
      b.drain("test end");
      await Promise.all([a.done, b.done]);
      await s.close();
    }
  });

  it("a flooded subscription counts every message: sent = handled + dropped + cut off at the drain", async () => {
    const s = await stage("flood", {
      worker: { shutdownGraceMs: 20 },
      cadence: { telemetryFlushIntervalMs: 50 },
    });
    let handled = 0;
    let ctxOf: ActorContext | undefined;
    const def: ActorDefinition = {
      name: "flood",
      async start(ctx) {
        ctxOf = ctx;
        ctx.subscribe(
          "heartbeat",
          (_m, _c, signal) =>
            new Promise<void>((resolve, reject) => {
              const t = setTimeout(() => {
                handled++;
                resolve();
              }, 1);
              signal.addEventListener("abort", () => {
                clearTimeout(t);
                reject(signal.reason);
              });
            }),
          { params: { actor: "firehose" }, mailbox: "firehose", mode: "ordered", capacity: 4 },
        );
      },
    };
    const h = run(def, s.env("f1"));
    try {
      await until(() => h.lifecycle.state === "running", "running");
      const sent = 1_000;
      for (let i = 1; i <= sent; i++)
        publish(s.bus, "heartbeat", heartbeatOf("firehose", i), { params: { actor: "firehose" } });
      await s.bus.nc.flush();
      h.drain("flood over");
      expect(await h.done).toBe(ActorExitCode.graceExpired);
      await until(() => s.events("flood.lifecycle.drained").length === 1, "drained event");
      const attrs = s.events("flood.lifecycle.drained")[0]?.attributes ?? {};
      const dropped = Number(attrs.dropped);
      const cutOff = Number(attrs.cut_off);
      expect(dropped).toBeGreaterThan(0);
      expect(handled + dropped + cutOff).toBe(sent);
      const warnings = s.events("flood.mailbox.dropped");
      expect(warnings.length).toBeGreaterThan(0);
      expect(warnings.length).toBeLessThan(50);
      expect(warnings.reduce((n, e) => n + Number(e.attributes?.dropped), 0)).toBe(dropped);
      expect(Object.keys(ctxOf?.bus.metrics.snapshot().dropped ?? {})).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it("delivers consumed JetStream messages and served requests through mailboxes; a full endpoint answers busy", async () => {
    const s = await stage("intake");
    await ensureResources(s.bus);
    const directives: unknown[] = [];
    const hold = gate();
    const reply = sampleOf("KernelPrefetchResult");
    let endpoint: Mailbox<unknown> | undefined;
    const def: ActorDefinition = {
      name: "intake",
      async start(ctx) {
        await ctx.consume(
          { name: "tolaria-seed-directives", run: "run-1" },
          async (msg) => void directives.push(msg),
          { mailbox: "directives", mode: "ordered" },
        );
        endpoint = ctx.serve(
          "urzaPrefetch",
          async () => {
            await hold.promise;
            return reply;
          },
          { mailbox: "prefetch", mode: "ordered", capacity: 1, queue: "urza" },
        ) as Mailbox<unknown>;
      },
    };
    const h = run(def, s.env("i1"));
    try {
      await until(() => h.lifecycle.state === "running", "running");
      const directive = { ...sampleOf("SeedDirective"), trainingRunId: "run-1" };
      await publishToStream(s.bus, "seedDirective", directive, { params: { run: "run-1" } });
      await until(() => directives.length === 1, "the consumed directive");
      expect(directives[0]).toEqual(directive);
      const ask = () =>
        request(s.bus, "urzaPrefetch", sampleOf("KernelPrefetchRequest"), { timeoutMs: 5_000 });
      const first = ask();
      const second = ask();
      await until(() => endpoint?.metrics().depth === 1, "one request running, one queued");
      await expect(ask()).rejects.toMatchObject({ kind: "remote_error" });
      expect(endpoint?.metrics().dropped).toBe(1);
      hold.open();
      expect(await first).toEqual(reply);
      expect(await second).toEqual(reply);
      h.drain("done");
      expect(await h.done).toBe(ActorExitCode.ok);
      await expect(ask()).rejects.toBeInstanceOf(BusRequestError);
    } finally {
      hold.open();
      h.drain("test end");
      await h.done;
      await s.close();
    }
  });

  it("a consumed handler that hangs is aborted at worker.defaultTimeoutMs, reported, and the next message handled", async () => {
    const s = await stage("hung", { worker: { defaultTimeoutMs: 400 } });
    await ensureResources(s.bus);
    const handled: string[] = [];
    let aborted = 0;
    const def: ActorDefinition = {
      name: "hung",
      async start(ctx) {
        await ctx.consume(
          { name: "tolaria-seed-directives", run: "run-1" },
          async (msg, _ctx, signal) => {
            if (handled.length === 0 && aborted === 0) {
              await new Promise<void>((_, reject) =>
                signal.addEventListener("abort", () => {
                  aborted++;
                  reject(signal.reason);
                }),
              );
            }
            handled.push(msg.directiveId);
          },
          { mailbox: "directives", mode: "ordered" },
        );
      },
    };
    const h = run(def, s.env("i1"));
    try {
      await until(() => h.lifecycle.state === "running", "running");
      const run1 = { trainingRunId: "run-1" };
      const first = { ...sampleOf("SeedDirective"), ...run1, directiveId: "d-hangs" };
      const second = { ...sampleOf("SeedDirective", 2), ...run1, directiveId: "d-next" };
      await publishToStream(s.bus, "seedDirective", first, { params: { run: "run-1" } });
      await publishToStream(s.bus, "seedDirective", second, { params: { run: "run-1" } });
      await until(() => handled.includes("d-next"), "the message after the hung one");
      expect(aborted).toBe(1);
      expect(handled).toEqual(["d-next"]);
      await until(() => s.events("hung.bus.handler_deadline").length === 1, "the handler_deadline report");
    } finally {
      h.drain("test end");
      await h.done;
      await s.close();
    }
  });

  it("applies a settings change to the worker and mailboxes, tells onSettings, calls stop, reports lastError", async () => {
    const s = await stage("hooks", { cadence: { heartbeatIntervalMs: 50 } });
    const changes: SettingsApplied[] = [];
    let stopped = 0;
    let ctxOf: ActorContext | undefined;
    let box: Mailbox<unknown> | undefined;
    const def: ActorDefinition = {
      name: "hooks",
      async start(ctx) {
        ctxOf = ctx;
        box = ctx.subscribe(
          "heartbeat",
          async () => {
            throw new Error("handler broke on purpose");
          },
          { params: { actor: "poke" }, mailbox: "poke", mode: "concurrent" },
        ) as Mailbox<unknown>;
      },
      async stop() {
        stopped++;
      },
      onSettings(change) {
        changes.push(change);
      },
    };
    const h = run(def, s.env("h1"));
    try {
      await until(() => h.lifecycle.state === "running", "running");
      await (await openBucket(s.bus, "settings")).put(WORKER_SETTINGS_KEY, {
        cadence: { heartbeatIntervalMs: 50 },
        worker: { concurrency: 7 },
        mailbox: { capacity: 33, concurrency: 5 },
      });
      await until(() => changes.length === 1, "onSettings");
      expect(changes[0]?.changed).toEqual(["worker.concurrency", "mailbox.capacity", "mailbox.concurrency"]);
      expect(ctxOf?.worker.settings.concurrency).toBe(7);
      expect(box?.metrics()).toMatchObject({ capacity: 33, concurrency: 5 });
      publish(s.bus, "heartbeat", heartbeatOf("poke", 1), { params: { actor: "poke" } });
      await until(
        () => s.heartbeats.some((b) => b.lastError === "handler broke on purpose"),
        "lastError in a heartbeat",
      );
      h.drain("done");
      expect(await h.done).toBe(ActorExitCode.ok);
      expect(stopped).toBe(1);
    } finally {
      h.drain("test end");
      await h.done;
      await s.close();
    }
  });

  it("is running only once the server confirmed the subscriptions start() made: a request sent then is answered", async () => {
    const s = await stage("confirmer");
    const confirm = gate();
    const reply = sampleOf("KernelPrefetchResult");
    const def: ActorDefinition = {
      name: "confirmer",
      async start(ctx) {
        ctx.serve("urzaPrefetch", async () => reply, { mailbox: "prefetch", mode: "ordered" });
        const flush = ctx.bus.flush;
        Object.assign(ctx.bus, { flush: () => confirm.promise.then(flush) });
      },
    };
    const h = run(def, s.env("c1"));
    try {
      await until(() => h.lifecycle.state === "starting", "starting");
      await new Promise((r) => setTimeout(r, 200));
      expect(h.lifecycle.state).toBe("starting");
      let answered: Promise<unknown> | undefined;
      h.lifecycle.onChange((change) => {
        if (change.to === "running")
          answered = request(s.bus, "urzaPrefetch", sampleOf("KernelPrefetchRequest"), { timeoutMs: 5_000 });
      });
      confirm.open();
      await until(() => answered !== undefined, "running");
      expect(await answered).toEqual(reply);
    } finally {
      confirm.open();
      h.drain("test end");
      await h.done;
      await s.close();
    }
  });

  it("once ready, the message schemas not used yet are compiled in the background", async () => {
    const s = await stage("warmer");
    try {
      const handle = run({ name: "warmer", async start() {} }, s.env("w1"));
      await until(() => handle.lifecycle.state === "running", "running");
      await until(() => messageTypes.every(isCompiled), "every schema compiled");
      handle.drain("test done");
      expect(await handle.done).toBe(ActorExitCode.ok);
    } finally {
      await s.close();
    }
  });

  it("ctx.finish ends with 0, ctx.fail with gaveUp and CRITICAL telemetry, a throwing start() with crashed", async () => {
    const s = await stage("ender", { cadence: { heartbeatIntervalMs: 50 } });
    try {
      const finisher = run(
        {
          name: "ender",
          async start(ctx) {
            setTimeout(() => ctx.finish("job done"), 10);
          },
        },
        s.env("e1"),
      );
      expect(await finisher.done).toBe(ActorExitCode.ok);
      expect(finisher.lifecycle.state).toBe("stopped");
      const failer = run(
        {
          name: "ender",
          async start(ctx) {
            setTimeout(() => ctx.fail("the job cannot go on"), 10);
          },
        },
        s.env("e2"),
      );
      expect(await failer.done).toBe(ActorExitCode.gaveUp);
      expect(failer.lifecycle.state).toBe("failed");
      expect(failer.lifecycle.failureReason).toBe("the job cannot go on");
      const crasher = run(
        {
          name: "ender",
          async start() {
            throw new Error("cannot set up");
          },
        },
        s.env("e3"),
      );
      expect(await crasher.done).toBe(ActorExitCode.crashed);
      expect(crasher.lifecycle.state).toBe("failed");
      await until(() => s.events("ender.lifecycle.failed").length === 2, "two CRITICAL failed events");
      const failed = s.packets.filter((p) => p.events.some((e) => e.eventId === "ender.lifecycle.failed"));
      expect(failed.map((p) => p.priority)).toEqual([MessagePriority.CRITICAL, MessagePriority.CRITICAL]);
      expect(s.events("ender.lifecycle.failed").map((e) => e.description)).toEqual([
        "the job cannot go on",
        "start failed: cannot set up",
      ]);
    } finally {
      await s.close();
    }
  });

  it("the supervisor creates the resources and writes its settings, and drains within supervisor.shutdownGraceMs", async () => {
    const s = await stage("boss", undefined, false);
    const initial: WorkerSettingsInput = {
      worker: { shutdownGraceMs: 50 },
      supervisor: { shutdownGraceMs: 3_000 },
      cadence: { heartbeatIntervalMs: 77 },
    };
    const def: ActorDefinition = {
      name: "boss",
      supervisor: { initialSettings: () => initial },
      async start(ctx) {
        ctx.runTask("children", async (signal) => {
          await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
          await new Promise((r) => setTimeout(r, 400));
        });
      },
    };
    const h = run(def, s.env("w1"));
    try {
      await until(() => h.lifecycle.state === "running", "running");
      const stored = await (await openBucket(s.bus, "settings")).get(WORKER_SETTINGS_KEY);
      expect(stored?.value.cadence.heartbeatIntervalMs).toBe(77);
      expect(stored?.value.supervisor.shutdownGraceMs).toBe(3_000);
      h.drain("stack stop");
      expect(await h.done).toBe(ActorExitCode.ok);
    } finally {
      h.drain("test end");
      await h.done;
      await s.close();
    }
  });

  it("a drain requested during preflight stops the actor without starting it", async () => {
    const s = await stage("early");
    try {
      let started = 0;
      let h: ActorHandle | undefined;
      h = run(
        {
          name: "early",
          preflight: [{ name: "slow-check", run: () => h?.drain("operator changed their mind") }],
          async start() {
            started++;
          },
        },
        s.env("x1"),
      );
      expect(await h.done).toBe(ActorExitCode.ok);
      expect(started).toBe(0);
      expect(h.lifecycle.state).toBe("stopped");
    } finally {
      await s.close();
    }
  });

  it("without the settings bucket, preflight fails naming `esper resources ensure`", async () => {
    const s = await stage("orphan", undefined, false);
    try {
      const h = run({ name: "orphan", async start() {} }, s.env("o1"));
      expect(await h.done).toBe(ActorExitCode.preflightFailed);
      expect(h.lifecycle.failureReason).toContain(
        `KV bucket ${storeName(s.ns, "settings")} does not exist: start Weatherlight or run \`esper resources ensure\``,
      );
    } finally {
      await s.close();
    }
  });
});
