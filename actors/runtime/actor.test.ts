import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { encode as msgpack } from "@msgpack/msgpack";
import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BusConnection, connectBus } from "../../bus/connection.ts";
import { ensureBucket } from "../../bus/jetstream/ensure.ts";
import { openBucket } from "../../bus/kv.ts";
import { request, subscribe } from "../../bus/typed.ts";
import { MessagePriority, TelemetryLevel } from "../../contracts/enums.ts";
import type { ControlRequest, Heartbeat } from "../../contracts/messages/runtime.ts";
import type { TelemetryEvent, TelemetryPacket } from "../../contracts/messages/telemetry.ts";
import type { WorkerSettingsInput } from "../../contracts/messages/worker-settings.ts";
import { storeName, WORKER_SETTINGS_KEY } from "../../contracts/stores.ts";
import { startNatsServer, type TestNatsServer } from "../../test/nats-server.ts";
import { signedControlRequest } from "./control-server.ts";
import { ActorExitCode, isPermanentFailure } from "./exit-codes.ts";
import { bundleExampleActor } from "./testing/example-bundle.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

let server: TestNatsServer;
const dir = mkdtempSync(join(tmpdir(), "esper-actor-"));
const artifact = join(dir, "artifact.bin");
writeFileSync(artifact, "present");
let nsCounter = 0;

let entry: string;

beforeAll(async () => {
  [server, entry] = await Promise.all([startNatsServer(), bundleExampleActor(dir)]);
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A running example actor child process plus what the test saw of it on the bus. */
interface Harness {
  readonly bus: BusConnection;
  readonly child: ChildProcess;
  readonly heartbeats: Heartbeat[];
  readonly packets: TelemetryPacket[];
  readonly exited: Promise<number | null>;
  stderr(): string;
  events(): TelemetryEvent[];
  packetOf(eventId: string): TelemetryPacket | undefined;
  close(): Promise<void>;
}

const KEY = "actor-test-signing-key-0123456789";

async function launch(env: Record<string, string>, settings?: WorkerSettingsInput): Promise<Harness> {
  const ns = `actor${nsCounter++}`;
  const bus = await connectBus({ name: "actor-test", namespace: ns, ...server.address });
  await ensureBucket(bus, "settings");
  if (settings) await (await openBucket(bus, "settings")).put(WORKER_SETTINGS_KEY, settings);
  const heartbeats: Heartbeat[] = [];
  const packets: TelemetryPacket[] = [];
  const subs = [
    subscribe(bus, "heartbeat", async (hb) => void heartbeats.push(hb), { params: { actor: "example" } }),
    subscribe(bus, "telemetryRaw", async (p) => void packets.push(p), { params: { actor: "example" } }),
  ];
  await bus.nc.flush();
  const address = server.address;
  const child = spawn(process.execPath, [entry], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      ESPER_NAMESPACE: ns,
      ESPER_NATS_URL: server.url,
      ...(address.user !== undefined && address.pass !== undefined
        ? { ESPER_NATS_USER: address.user, ESPER_NATS_PASS: address.pass }
        : {}),
      ESPER_RUN_ID: `run-${ns}`,
      ESPER_INSTANCE_ID: `inst-${ns}`,
      ESPER_SIGNING_KEY: KEY,
      ESPER_LOG_PRETTY: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  child.stdout?.resume();
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const events = () => packets.flatMap((p) => p.events);
  return {
    bus,
    child,
    heartbeats,
    packets,
    exited,
    stderr: () => err,
    events,
    packetOf: (id) => packets.find((p) => p.events.some((e) => e.eventId === id)),
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
      await Promise.all(subs.map((s) => s.stop()));
      await bus.close();
    },
  };
}

async function until(cond: () => boolean, what: string, h: Harness, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; stderr:\n${h.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Exit code, or fails the test after `ms`. */
async function exitCode(h: Harness, ms = 15_000): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`child did not exit within ${ms} ms; stderr:\n${h.stderr()}`)),
      ms,
    );
  });
  try {
    return await Promise.race([h.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe.concurrent("example actor in a child process (real nats-server)", () => {
  it("invalid process settings: exit 2 (permanent), every bad variable named", async () => {
    const h = await launch({ ESPER_NAMESPACE: "Bad!", ESPER_CONNECT_TIMEOUT_MS: "0" });
    try {
      const code = await exitCode(h);
      expect(code).toBe(ActorExitCode.badConfig);
      expect(isPermanentFailure(code ?? -1)).toBe(true);
      expect(h.stderr()).toContain("ESPER_NAMESPACE: must match [a-z0-9_-]+");
      expect(h.stderr()).toContain("ESPER_CONNECT_TIMEOUT_MS: must be at least 1");
    } finally {
      await h.close();
    }
  });

  it("a failed preflight stops it with the reason, exit 5 (permanent) and CRITICAL telemetry", async () => {
    const h = await launch({});
    try {
      const code = await exitCode(h);
      expect(code).toBe(ActorExitCode.preflightFailed);
      expect(isPermanentFailure(code ?? -1)).toBe(true);
      expect(h.stderr()).toContain(
        "example: preflight failed: check 'example-artifact' failed: dependency violation (artifact): example artifact has no path",
      );
      await until(
        () => h.packetOf("example.lifecycle.preflight_failed") !== undefined,
        "preflight telemetry",
        h,
        2_000,
      );
      const packet = h.packetOf("example.lifecycle.preflight_failed");
      expect(packet).toMatchObject({ level: TelemetryLevel.CRITICAL, priority: MessagePriority.CRITICAL });
      const violation = h.events().find((e) => e.eventId === "example.dependency_guard.violation");
      expect(violation?.attributes).toEqual({
        kind: "artifact",
        what: "example artifact",
        reason: "has no path",
      });
      expect(h.heartbeats).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it("SIGTERM drains it: in-flight work finishes, telemetry is flushed, exit 0", async () => {
    const h = await launch(
      { EXAMPLE_ARTIFACT: artifact, EXAMPLE_TASK_MS: "1500", EXAMPLE_LONG_TASK: "loop" },
      { cadence: { heartbeatIntervalMs: 100, telemetryFlushIntervalMs: 50 } },
    );
    try {
      await until(() => h.heartbeats.some((b) => b.state === "running"), "a running heartbeat", h);
      await until(
        () => h.packets.some((p) => p.metrics.some((m) => m.name === "example.work.ticks")),
        "ticks",
        h,
      );
      const hb = h.heartbeats.find((b) => b.state === "running");
      expect(hb).toMatchObject({
        actor: "example",
        pid: h.child.pid,
        runId: expect.stringMatching(/^run-actor/),
        instanceId: expect.stringMatching(/^inst-actor/),
      });
      expect(hb?.readyAtMs).toBeGreaterThan(0);
      expect(h.heartbeats.find((b) => b.state === "starting")?.readyAtMs).toBeUndefined();
      expect(h.events().some((e) => e.eventId === "example.work.finished")).toBe(false);
      h.child.kill("SIGTERM");
      expect(await exitCode(h)).toBe(ActorExitCode.ok);
      await until(() => h.packetOf("example.lifecycle.drained") !== undefined, "drained telemetry", h, 2_000);
      expect(h.events().some((e) => e.eventId === "example.work.finished")).toBe(true);
      expect(h.events().find((e) => e.eventId === "example.lifecycle.drained")?.attributes).toEqual({
        reason: "SIGTERM",
        cut_off: "0",
        dropped: "0",
        exit_code: "0",
      });
      expect(h.events().some((e) => e.eventId === "example.work.loop_ended")).toBe(true);
      const states = h.heartbeats.map((b) => b.state);
      expect(states).toContain("draining");
      expect(states.at(-1)).toBe("stopped");
      expect(
        h.packets.some((p) => p.metrics.some((m) => m.name === "example.worker.completed" && m.value === 1)),
      ).toBe(true);
    } finally {
      await h.close();
    }
  });

  it("a second signal during the drain exits at once with code 3", async () => {
    const h = await launch(
      { EXAMPLE_ARTIFACT: artifact, EXAMPLE_TASK_MS: "30000", EXAMPLE_TASK_STUBBORN: "1" },
      {
        cadence: { heartbeatIntervalMs: 100 },
        worker: { shutdownGraceMs: 60_000 },
        supervisor: { shutdownGraceMs: 120_000 },
      },
    );
    try {
      await until(() => h.heartbeats.some((b) => b.state === "running"), "a running heartbeat", h);
      h.child.kill("SIGTERM");
      await until(() => h.heartbeats.some((b) => b.state === "draining"), "a draining heartbeat", h);
      h.child.kill("SIGINT");
      expect(await exitCode(h)).toBe(ActorExitCode.forced);
      expect(h.stderr()).toContain("second SIGINT during drain: forced exit");
    } finally {
      await h.close();
    }
  });

  it("work still running when the grace expires is cut off: exit 4", async () => {
    const h = await launch(
      { EXAMPLE_ARTIFACT: artifact, EXAMPLE_TASK_MS: "30000", EXAMPLE_TASK_STUBBORN: "1" },
      { cadence: { heartbeatIntervalMs: 100 }, worker: { shutdownGraceMs: 200 } },
    );
    try {
      await until(() => h.heartbeats.some((b) => b.state === "running"), "a running heartbeat", h);
      h.child.kill("SIGTERM");
      expect(await exitCode(h)).toBe(ActorExitCode.graceExpired);
      await until(() => h.packetOf("example.lifecycle.drained") !== undefined, "drained telemetry", h, 2_000);
      const drained = h.packetOf("example.lifecycle.drained");
      expect(drained?.level).toBe(TelemetryLevel.WARNING);
      expect(h.events().find((e) => e.eventId === "example.lifecycle.drained")?.attributes?.cut_off).toBe(
        "1",
      );
    } finally {
      await h.close();
    }
  });

  it("applies a worker settings change live, reports a rejected one, and drains on the control verb", async () => {
    const h = await launch(
      { EXAMPLE_ARTIFACT: artifact, EXAMPLE_TASK_MS: "10" },
      { cadence: { telemetryFlushIntervalMs: 50 } },
    );
    try {
      await until(() => h.heartbeats.some((b) => b.state === "running"), "a running heartbeat", h);
      const bucket = await openBucket(h.bus, "settings");
      await bucket.put(WORKER_SETTINGS_KEY, {
        cadence: { telemetryFlushIntervalMs: 50, heartbeatIntervalMs: 60 },
      });
      await until(() => h.packetOf("example.settings.applied") !== undefined, "settings.applied", h);
      const applied = h.events().find((e) => e.eventId === "example.settings.applied");
      expect(applied?.attributes?.changed).toBe("cadence.heartbeatIntervalMs");
      const seen = h.heartbeats.length;
      await until(() => h.heartbeats.length >= seen + 5, "faster heartbeats", h, 2_000);
      await bucket.delete(WORKER_SETTINGS_KEY);
      await until(() => h.packetOf("example.settings.rejected") !== undefined, "settings.rejected", h);
      expect(h.packetOf("example.settings.rejected")?.priority).toBe(MessagePriority.HIGH);
      const raw = await new Kvm(h.bus.nc).open(storeName(h.bus.namespace, "settings"));
      await raw.put(WORKER_SETTINGS_KEY, msgpack({ worker: { concurrency: 0 } }));
      const rejectedFields = () =>
        h.events().flatMap((e) => (e.eventId === "example.settings.rejected" ? [e.attributes?.field] : []));
      await until(() => rejectedFields().includes("worker.concurrency"), "rejection of an invalid value", h);
      const instance = `inst-${h.bus.namespace}`;
      const toInstance = (req: ControlRequest) =>
        request(h.bus, "controlInstance", req, {
          params: { actor: "example", instance },
          timeoutMs: 5_000,
        });
      expect(
        await request(
          h.bus,
          "control",
          { requestId: "r-ping", verb: "ping" },
          { params: { actor: "example" }, timeoutMs: 5_000 },
        ),
      ).toMatchObject({
        requestId: "r-ping",
        actor: "example",
        instanceId: instance,
        ok: true,
        state: "running",
      });
      const status = await toInstance({ requestId: "r-status", verb: "status" });
      expect(JSON.parse(status.message)).toMatchObject({ instanceId: instance, state: "running", tasks: [] });
      const unsigned = await toInstance({ requestId: "r-unsigned", verb: "drain" });
      expect(unsigned).toMatchObject({ ok: false, state: "running" });
      expect(unsigned.message).toMatch(/refused: 'drain' must be signed/);
      await until(() => h.packetOf("example.control.refused") !== undefined, "control.refused telemetry", h);
      expect(h.packetOf("example.control.refused")?.priority).toBe(MessagePriority.CRITICAL);
      expect((await toInstance({ requestId: "r-ping2", verb: "ping" })).state).toBe("running");
      expect(await toInstance(signedControlRequest("drain", KEY))).toMatchObject({
        ok: true,
        message: "draining",
      });
      expect(await exitCode(h)).toBe(ActorExitCode.ok);
    } finally {
      await h.close();
    }
  });

  it("SIGTERM while start() still loops: the signal aborts, the drain waits for start() and ends 0", async () => {
    const h = await launch(
      { EXAMPLE_ARTIFACT: artifact, EXAMPLE_TASK_MS: "10", EXAMPLE_START: "loop" },
      { cadence: { heartbeatIntervalMs: 100 } },
    );
    try {
      await until(() => h.heartbeats.some((b) => b.state === "starting"), "a starting heartbeat", h);
      h.child.kill("SIGTERM");
      expect(await exitCode(h)).toBe(ActorExitCode.ok);
      const states = h.heartbeats.map((b) => b.state);
      expect(states).not.toContain("running");
      expect(states.at(-1)).toBe("stopped");
    } finally {
      await h.close();
    }
  });

  it("a start() that ignores the drain is ended by the hard stop at grace + 3 s: exit 4", async () => {
    const h = await launch(
      { EXAMPLE_ARTIFACT: artifact, EXAMPLE_TASK_MS: "10", EXAMPLE_START: "stubborn" },
      { cadence: { heartbeatIntervalMs: 100 }, worker: { shutdownGraceMs: 100 } },
    );
    try {
      await until(() => h.heartbeats.some((b) => b.state === "starting"), "a starting heartbeat", h);
      h.child.kill("SIGTERM");
      expect(await exitCode(h, 20_000)).toBe(ActorExitCode.graceExpired);
      expect(h.stderr()).toContain("example: drain did not finish within 3100 ms: forced exit");
    } finally {
      await h.close();
    }
  });

  it("a long task that throws: failed, CRITICAL telemetry with the error, a drain, exit 6", async () => {
    const h = await launch(
      { EXAMPLE_ARTIFACT: artifact, EXAMPLE_TASK_MS: "10", EXAMPLE_LONG_TASK: "throw" },
      { cadence: { heartbeatIntervalMs: 100, telemetryFlushIntervalMs: 50 } },
    );
    try {
      const code = await exitCode(h);
      expect(code).toBe(ActorExitCode.taskFailed);
      expect(isPermanentFailure(code ?? -1)).toBe(false);
      expect(h.stderr()).toContain("example: failed: task 'diverging' failed: training diverged");
      await until(() => h.packetOf("example.lifecycle.failed") !== undefined, "failed telemetry", h, 2_000);
      expect(h.packetOf("example.lifecycle.failed")).toMatchObject({
        level: TelemetryLevel.CRITICAL,
        priority: MessagePriority.CRITICAL,
      });
      expect(h.events().find((e) => e.eventId === "example.lifecycle.failed")?.description).toBe(
        "task 'diverging' failed: training diverged",
      );
      const states = h.heartbeats.map((b) => b.state);
      expect(states).toContain("draining");
      expect(states.at(-1)).toBe("failed");
    } finally {
      await h.close();
    }
  });

  it("a loop left outside ctx.runTask that rejects: failed, CRITICAL telemetry, a drain, exit 1", async () => {
    const h = await launch(
      { EXAMPLE_ARTIFACT: artifact, EXAMPLE_TASK_MS: "10", EXAMPLE_LONG_TASK: "stray" },
      { cadence: { heartbeatIntervalMs: 100, telemetryFlushIntervalMs: 50 } },
    );
    try {
      expect(await exitCode(h)).toBe(ActorExitCode.crashed);
      expect(h.stderr()).toContain("example: failed: uncaught error: stray loop broke");
      await until(() => h.packetOf("example.lifecycle.failed") !== undefined, "failed telemetry", h, 2_000);
      expect(h.packetOf("example.lifecycle.failed")?.priority).toBe(MessagePriority.CRITICAL);
      expect(h.heartbeats.map((b) => b.state).at(-1)).toBe("failed");
    } finally {
      await h.close();
    }
  });
});
