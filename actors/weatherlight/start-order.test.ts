import { describe, expect, it } from "vitest";
import type { ActorChildEnv, ActorChildSpec } from "./child-processes.ts";
import { ActorNotReadyError } from "./errors.ts";
import { startInOrder, stopInReverse } from "./start-order.ts";
import { fakeActorCommand } from "./testing/fake-actor-command.ts";
import { readyLines } from "./testing/ready-lines.ts";

const env: ActorChildEnv = {
  namespace: "wl-order",
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

describe("startInOrder", { timeout: 90_000 }, () => {
  it("starts each child once the previous one is ready, and stops them last-first", async () => {
    const watch = readyLines();
    const children = await startInOrder([spec("a", { readyAfterMs: "400" }), spec("b")], watch.waitReady, {
      readyTimeoutMs: 30_000,
      stopGraceMs: 10_000,
      onEvent: watch.onEvent,
    });
    expect(children.map((c) => c.name)).toEqual(["a", "b"]);
    const order = watch.events.flatMap((e) =>
      e.type === "spawned"
        ? [`spawn ${e.actor}`]
        : e.type === "output" && e.line === "ready"
          ? [`ready ${e.actor}`]
          : [],
    );
    expect(order).toEqual(["spawn a", "ready a", "spawn b", "ready b"]);

    const stops = await stopInReverse(children, 10_000);
    expect(stops.map((s) => s.actor)).toEqual(["b", "a"]);
    const exits = watch.events.flatMap((e) => (e.type === "exited" ? [e.actor] : []));
    expect(exits).toEqual(["b", "a"]);
  });

  it("fails naming a child that exits before it is ready, with its stderr tail, and stops the ones started", async () => {
    const watch = readyLines();
    const failure = await startInOrder(
      [spec("a"), spec("b", { neverReady: "1", exitAfterMs: "100", exitCode: "3" }), spec("c")],
      watch.waitReady,
      { readyTimeoutMs: 30_000, stopGraceMs: 10_000, onEvent: watch.onEvent },
    ).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ActorNotReadyError);
    const error = failure as ActorNotReadyError;
    expect(error.actor).toBe("b");
    expect(error.message).toContain("actor b did not become ready: exited before it was ready (code 3)");
    expect(error.stderrTail).toContain("fatal: b gave up");
    expect(watch.events.some((e) => e.type === "spawned" && e.actor === "c")).toBe(false);
    expect(watch.events).toContainEqual(
      expect.objectContaining({ type: "exited", actor: "a", requested: true }),
    );
  });

  it("fails naming a child that misses the ready deadline, and stops it", async () => {
    const watch = readyLines();
    const failure = await startInOrder([spec("slow", { neverReady: "1" })], watch.waitReady, {
      readyTimeoutMs: 2_500,
      stopGraceMs: 10_000,
      onEvent: watch.onEvent,
    }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ActorNotReadyError);
    expect((failure as Error).message).toContain("actor slow did not become ready: not ready within 2500 ms");
    expect(watch.events).toContainEqual(
      expect.objectContaining({ type: "exited", actor: "slow", requested: true }),
    );
  });

  it("an abort while a child is not yet ready stops it and starts no later child", async () => {
    const watch = readyLines();
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 500);
    const failure = await startInOrder(
      [spec("waiting", { neverReady: "1" }), spec("later")],
      watch.waitReady,
      {
        readyTimeoutMs: 30_000,
        stopGraceMs: 10_000,
        onEvent: watch.onEvent,
        signal: abort.signal,
      },
    ).catch((e: unknown) => e);
    expect((failure as Error).message).toContain(
      "actor waiting did not become ready: the start was aborted before it was ready",
    );
    expect(watch.events).toContainEqual(
      expect.objectContaining({ type: "exited", actor: "waiting", requested: true }),
    );
    expect(watch.events.some((e) => e.type === "spawned" && e.actor === "later")).toBe(false);
  });

  it("fails naming a child whose readiness check throws", async () => {
    const watch = readyLines();
    const failure = await startInOrder(
      [spec("a")],
      () => Promise.reject(new Error("heartbeat subject unreachable")),
      { readyTimeoutMs: 30_000, stopGraceMs: 10_000, onEvent: watch.onEvent },
    ).catch((e: unknown) => e);
    expect((failure as Error).message).toContain(
      "actor a did not become ready: readiness check failed: heartbeat subject unreachable",
    );
  });
});
