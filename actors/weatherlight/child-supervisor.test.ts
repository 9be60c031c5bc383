import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { validate } from "../../contracts/codec.ts";
import type { ActorChildEnv, ActorChildSpec } from "./child-processes.ts";
import { ChildSupervisor, type ChildSupervisorOptions, type SupervisionEvent } from "./child-supervisor.ts";
import { RestartPolicy, type RestartPolicySettings } from "./restart-policy.ts";
import { stopInReverse } from "./start-order.ts";
import { fakeActorCommand } from "./testing/fake-actor-command.ts";
import { lineSignals } from "./testing/line-signals.ts";

const env: ActorChildEnv = {
  namespace: "wl-supervise",
  instanceId: "child-run-1",
  natsServers: ["nats://127.0.0.1:4301"],
  runId: "run-1",
  signingKey: "0123456789abcdef-key",
};

const spec = (name: string, options: Record<string, string> = {}): ActorChildSpec => ({
  name,
  command: fakeActorCommand(name, options),
  env,
});

/** Fast restarts: the first at once, then 50 ms doubling up to 200 ms, no jitter, 5 restarts within a minute. */
const fastPolicy: RestartPolicySettings = {
  ...validate("WorkerSettings", {}).supervisor,
  backoffBaseMs: 50,
  backoffMaxMs: 200,
  backoffJitter: 0,
};

let running: ChildSupervisor | undefined;

afterEach(async () => {
  if (running === undefined) return;
  await running.stop();
  await stopInReverse(running.children(), 5_000);
  running = undefined;
});

async function supervise(
  specs: readonly ActorChildSpec[],
  overrides: Partial<Omit<ChildSupervisorOptions, "policy">> & {
    policy?: Partial<RestartPolicySettings>;
  } = {},
) {
  const signals = lineSignals();
  const events: SupervisionEvent[] = [];
  const { policy, ...rest } = overrides;
  const supervisor = await ChildSupervisor.start(specs, {
    waitReady: signals.waitReady,
    heartbeats: signals.heartbeats,
    policy: new RestartPolicy(
      () => ({ ...fastPolicy, ...policy }),
      Date.now,
      () => 0,
    ),
    endsRun: (actor, exit) => actor === "owner" && exit.code === 0,
    readyTimeoutMs: 30_000,
    heartbeatMissedAfterMs: 600_000,
    stopGraceMs: 5_000,
    onChildEvent: signals.onEvent,
    onEvent: (e) => events.push(e),
    ...rest,
  });
  running = supervisor;
  const spawns = (actor: string) =>
    signals.events.flatMap((e) => (e.type === "spawned" && e.actor === actor ? [e.pid] : []));
  return { supervisor, events, childEvents: signals.events, spawns };
}

async function waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

const pending = Symbol("pending");
const settledYet = <T>(p: Promise<T>) =>
  Promise.race([p, new Promise<typeof pending>((r) => setTimeout(() => r(pending), 0))]);

describe("ChildSupervisor (real processes)", { timeout: 90_000 }, () => {
  it("restarts a SIGKILLed child with the same spec and waits for it to be ready again", async () => {
    const { supervisor, events, childEvents, spawns } = await supervise([spec("a"), spec("b")]);
    const [first] = spawns("b");
    if (first === undefined) throw new Error("b was not spawned");
    process.kill(first, "SIGKILL");
    await waitFor(() => events.some((e) => e.kind === "restarted"));
    const [, second] = spawns("b");
    expect(second).toBeDefined();
    expect(events).toEqual([
      { kind: "restarting", actor: "b", cause: "b was killed by SIGKILL", attempt: 1, delayMs: 0 },
      { kind: "restarted", actor: "b", pid: second, attempt: 1 },
    ]);
    expect(supervisor.children().map((c) => [c.name, c.pid])).toEqual([
      ["a", spawns("a")[0]],
      ["b", second],
    ]);
    expect(supervisor.children()[1]?.exit).toBeUndefined();
    const readyLines = childEvents.filter(
      (e) => e.type === "output" && e.actor === "b" && e.line === "ready",
    );
    expect(readyLines).toHaveLength(2);
    expect(supervisor.restartCounts()).toEqual({ a: 0, b: 1 });
    expect(await settledYet(supervisor.outcome)).toBe(pending);
    await supervisor.stop();
    expect(await supervisor.outcome).toEqual({ kind: "stopped" });
  });

  it("a child that keeps dying trips the restart intensity: degraded, no restart past it", async () => {
    const { supervisor, events, spawns } = await supervise(
      [spec("a", { exitAfterMs: "300", exitCode: "1" })],
      { policy: { restartIntensity: 2 } },
    );
    const outcome = await supervisor.outcome;
    expect(outcome).toEqual({
      kind: "degraded",
      actor: "a",
      reason: "restart intensity exceeded: 2 restarts within 60000 ms, then a exited with code 1 (crashed)",
    });
    expect(events.map((e) => e.kind)).toEqual([
      "restarting",
      "restarted",
      "restarting",
      "restarted",
      "degraded",
    ]);
    expect(events.filter((e) => e.kind === "restarting").map((e) => e.delayMs)).toEqual([0, 50]);
    await new Promise((r) => setTimeout(r, 500));
    expect(spawns("a")).toHaveLength(3);
    expect(supervisor.restartCounts()).toEqual({ a: 2 });
  });

  it.each([
    ["5", "preflightFailed"],
    ["2", "badConfig"],
  ])(
    "a child exiting with permanent code %s (%s) is not restarted: gave up, naming it and the code",
    async (code, name) => {
      const { supervisor, events, spawns } = await supervise([
        spec("a"),
        spec("b", { exitAfterMs: "300", exitCode: code }),
      ]);
      const reason = `b exited with code ${code} (${name}): a permanent failure, not restarted`;
      expect(await supervisor.outcome).toEqual({ kind: "gave-up", actor: "b", reason });
      expect(events).toEqual([{ kind: "gave-up", actor: "b", reason }]);
      await new Promise((r) => setTimeout(r, 500));
      expect(spawns("b")).toHaveLength(1);
      expect(supervisor.restartCounts()).toEqual({ a: 0, b: 0 });
    },
  );

  it("a silent child (its heartbeats stop) is stopped and restarted, and the restart is kept while it beats", async () => {
    const onceFile = join(mkdtempSync(join(tmpdir(), "wl-silent-")), "once");
    const { supervisor, events, childEvents, spawns } = await supervise(
      [spec("a", { beatEveryMs: "100", silentAfterMs: "500", onceFile })],
      { heartbeatMissedAfterMs: 1_000 },
    );
    await waitFor(() => events.some((e) => e.kind === "restarted"));
    const [first, second] = spawns("a");
    expect(events).toEqual([
      { kind: "silent", actor: "a", pid: first, silentForMs: 1_000 },
      { kind: "restarting", actor: "a", cause: "a sent no heartbeat for 1000 ms", attempt: 1, delayMs: 0 },
      { kind: "restarted", actor: "a", pid: second, attempt: 1 },
    ]);
    expect(childEvents).toContainEqual(
      expect.objectContaining({ type: "exited", pid: first, requested: true }),
    );
    // The restart beats: it is still the one running well past the silence limit.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(events).toHaveLength(3);
    expect(supervisor.children()[0]?.pid).toBe(second);
    expect(supervisor.children()[0]?.exit).toBeUndefined();
  });

  it("a restart not ready within readyTimeoutMs is stopped and decided about again", async () => {
    const onceFile = join(mkdtempSync(join(tmpdir(), "wl-late-")), "once");
    const { supervisor, events, childEvents, spawns } = await supervise(
      [spec("a", { onceFile, readyOnlyOnce: "1" })],
      { readyTimeoutMs: 5_000, policy: { restartIntensity: 2 } },
    );
    const [first] = spawns("a");
    if (first === undefined) throw new Error("a was not spawned");
    process.kill(first, "SIGKILL");
    const late = "a did not become ready after its restart: not ready within 5000 ms";
    expect(await supervisor.outcome).toEqual({
      kind: "degraded",
      actor: "a",
      reason: `restart intensity exceeded: 2 restarts within 60000 ms, then ${late}`,
    });
    expect(events.map((e) => (e.kind === "restarting" ? e.cause : e.kind))).toEqual([
      "a was killed by SIGKILL",
      late,
      "degraded",
    ]);
    const [, second, third] = spawns("a");
    for (const pid of [second, third]) {
      expect(childEvents).toContainEqual(expect.objectContaining({ type: "exited", pid, requested: true }));
    }
  });

  it("childStatus says each child's phase: failed through its backoff, restarting until ready, then ready", async () => {
    const { supervisor, events, spawns } = await supervise([spec("a", { readyAfterMs: "1000" })], {
      policy: { backoffBaseMs: 500, backoffMaxMs: 500 },
    });
    const [first] = spawns("a");
    if (first === undefined) throw new Error("a was not spawned");
    expect(supervisor.childStatus()).toEqual([{ actor: "a", phase: "ready", pid: first, restarts: 0 }]);
    // The first restart is immediate; the second waits out its 500 ms backoff.
    process.kill(first, "SIGKILL");
    await waitFor(() => events.some((e) => e.kind === "restarted"));
    const second = spawns("a")[1];
    if (second === undefined) throw new Error("a was not respawned");
    process.kill(second, "SIGKILL");
    await waitFor(() => events.filter((e) => e.kind === "restarting").length === 2);
    expect(supervisor.childStatus()).toEqual([{ actor: "a", phase: "failed", pid: second, restarts: 2 }]);
    await waitFor(() => spawns("a").length === 3);
    const third = spawns("a")[2];
    expect(supervisor.childStatus()).toEqual([{ actor: "a", phase: "restarting", pid: third, restarts: 2 }]);
    await waitFor(() => events.filter((e) => e.kind === "restarted").length === 2);
    expect(supervisor.childStatus()).toEqual([{ actor: "a", phase: "ready", pid: third, restarts: 2 }]);
  });

  it("stop() during a restart's backoff abandons it: no respawn, outcome stopped", async () => {
    const { supervisor, events, spawns } = await supervise([spec("a")], {
      policy: { backoffBaseMs: 5_000, backoffMaxMs: 5_000 },
    });
    const [first] = spawns("a");
    if (first === undefined) throw new Error("a was not spawned");
    // The first restart is immediate; the second has the 5 s backoff.
    process.kill(first, "SIGKILL");
    await waitFor(() => events.some((e) => e.kind === "restarted"));
    const second = spawns("a")[1];
    if (second === undefined) throw new Error("a was not respawned");
    process.kill(second, "SIGKILL");
    await waitFor(() => events.filter((e) => e.kind === "restarting").length === 2);
    const startedMs = Date.now();
    await supervisor.stop();
    expect(Date.now() - startedMs).toBeLessThan(2_000);
    expect(await supervisor.outcome).toEqual({ kind: "stopped" });
    await new Promise((r) => setTimeout(r, 500));
    expect(spawns("a")).toHaveLength(2);
  });

  it("the run owner's normal end settles owner-finished and is not restarted", async () => {
    const { supervisor, events, spawns } = await supervise([
      spec("a"),
      spec("owner", { exitAfterMs: "300", exitCode: "0" }),
    ]);
    expect(await supervisor.outcome).toEqual({ kind: "owner-finished", actor: "owner" });
    expect(events).toEqual([]);
    await new Promise((r) => setTimeout(r, 500));
    expect(spawns("owner")).toHaveLength(1);
    expect(supervisor.children()[0]?.exit).toBeUndefined();
  });

  it("a child that cannot be restarted gives up at its first unasked exit, naming why", async () => {
    const { supervisor, events, spawns } = await supervise(
      [spec("a"), spec("owner", { exitAfterMs: "300", exitCode: "1" })],
      { cannotRestart: (actor) => (actor === "owner" ? "its run cannot resume" : undefined) },
    );
    const reason = "owner exited with code 1 (crashed): its run cannot resume";
    expect(await supervisor.outcome).toEqual({ kind: "gave-up", actor: "owner", reason });
    expect(events).toEqual([{ kind: "gave-up", actor: "owner", reason }]);
    expect(spawns("owner")).toHaveLength(1);
  });

  it("a child stopped by someone else (the run's stop) is not restarted", async () => {
    const { supervisor, events, spawns } = await supervise([spec("a"), spec("b")]);
    await supervisor.children()[1]?.stop(5_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(events).toEqual([]);
    expect(spawns("b")).toHaveLength(1);
    expect(await settledYet(supervisor.outcome)).toBe(pending);
  });
});
