import type { BusConnection } from "../../bus/connection.ts";
import { subscribe } from "../../bus/typed.ts";
import type { HeartbeatSource } from "./child-supervisor.ts";

/**
 * The ChildSupervisor's heartbeat source on the bus: subscribes to `heartbeat.<actor>` and calls
 * `onBeat` for each heartbeat from instance `instanceOf(actor)` (a respawned child keeps its instance
 * id; another run's instance of the same actor does not count), whatever its state.
 */
export function busHeartbeats(bus: BusConnection, instanceOf: (actor: string) => string): HeartbeatSource {
  return (actor, onBeat) => {
    const instanceId = instanceOf(actor);
    const sub = subscribe(
      bus,
      "heartbeat",
      (hb) => {
        if (hb.instanceId === instanceId) onBeat();
      },
      { params: { actor } },
    );
    return { stop: () => void sub.stop(0) };
  };
}
