import type { ChildEvent } from "../child-processes.ts";
import type { WaitReady } from "../start-order.ts";

/**
 * A test stand-in for heartbeat readiness: an actor is ready once it printed the line `ready` on stdout.
 * `onEvent` must receive the children's events; `events` keeps them all in order.
 */
export function readyLines(): {
  readonly events: ChildEvent[];
  readonly onEvent: (event: ChildEvent) => void;
  readonly waitReady: WaitReady;
} {
  const events: ChildEvent[] = [];
  const ready = new Set<string>();
  const waiters = new Map<string, () => void>();
  return {
    events,
    onEvent(event) {
      events.push(event);
      if (event.type === "output" && event.stream === "stdout" && event.line === "ready") {
        ready.add(event.actor);
        waiters.get(event.actor)?.();
      }
    },
    waitReady(actor, signal) {
      if (ready.has(actor)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        waiters.set(actor, resolve);
        signal.addEventListener("abort", () => reject(new Error("wait aborted")), { once: true });
      });
    },
  };
}
