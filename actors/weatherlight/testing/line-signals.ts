import type { ChildEvent } from "../child-processes.ts";
import type { HeartbeatSource } from "../child-supervisor.ts";
import type { WaitReady } from "../start-order.ts";

/**
 * Test stand-ins for heartbeat readiness and heartbeats, from a fake actor's stdout lines, per spawn:
 * an actor is ready once the process spawned last under its name printed `ready` (a respawn must
 * print it again), and each `beat` line is a heartbeat. `onEvent` must receive the children's
 * events; `events` keeps them all in order.
 */
export function lineSignals(): {
  readonly events: ChildEvent[];
  readonly onEvent: (event: ChildEvent) => void;
  readonly waitReady: WaitReady;
  readonly heartbeats: HeartbeatSource;
} {
  const events: ChildEvent[] = [];
  const ready = new Set<string>();
  const waiters = new Map<string, () => void>();
  const beatListeners = new Map<string, Set<() => void>>();
  return {
    events,
    onEvent(event) {
      events.push(event);
      if (event.type === "spawned") ready.delete(event.actor);
      if (event.type !== "output" || event.stream !== "stdout") return;
      if (event.line === "ready") {
        ready.add(event.actor);
        waiters.get(event.actor)?.();
      } else if (event.line === "beat") {
        for (const listener of beatListeners.get(event.actor) ?? []) listener();
      }
    },
    waitReady(actor, signal) {
      if (ready.has(actor)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        waiters.set(actor, resolve);
        signal.addEventListener("abort", () => reject(new Error("wait aborted")), { once: true });
      });
    },
    heartbeats(actor, onBeat) {
      const listeners = beatListeners.get(actor) ?? new Set();
      beatListeners.set(actor, listeners);
      const listener = (): void => onBeat();
      listeners.add(listener);
      return { stop: () => void listeners.delete(listener) };
    },
  };
}
