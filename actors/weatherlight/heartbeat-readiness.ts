import type { BusConnection } from "../../bus/connection.ts";
import { subscribe } from "../../bus/typed.ts";
import type { WaitReady } from "./start-order.ts";

/**
 * The readiness check of `startInOrder`: resolves once actor `name` publishes a heartbeat with state
 * `running` from instance `instanceOf(name)` (other instances of the same actor, e.g. another run's,
 * do not count); rejects when `signal` aborts first.
 */
export function heartbeatReadiness(bus: BusConnection, instanceOf: (actor: string) => string): WaitReady {
  return (actor, signal) =>
    new Promise<void>((resolve, reject) => {
      const instanceId = instanceOf(actor);
      const sub = subscribe(
        bus,
        "heartbeat",
        (hb) => {
          if (hb.instanceId !== instanceId || hb.state !== "running") return;
          done();
          resolve();
        },
        { params: { actor } },
      );
      const onAbort = (): void => {
        done();
        reject(new Error(`stopped waiting for ${actor} (${instanceId}) to be running`));
      };
      const done = (): void => {
        signal.removeEventListener("abort", onAbort);
        void sub.stop(0);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
}
