import type { ActorDefinition } from "../../actors/runtime/actor-types.ts";
import type { PlantedLeaks } from "./plants.ts";

/** Actor name of the soak actor (its heartbeats, telemetry and control subject). */
export const SOAK_ACTOR = "soak";
/** The `actor` parameter of the heartbeat subject the soak actor consumes as its load. */
export const SOAK_LOAD_SUBJECT_ACTOR = "soakload";

/** What the soak actor did in one start/drain cycle, read by the soak driver. */
export interface SoakActorProbe {
  /** Resolved once `start` has subscribed and the server has seen the subscription. */
  readonly ready: Promise<void>;
  /** Load messages whose handler finished. */
  handled: number;
  /** Handler calls started and not yet settled. */
  handlersInFlight: number;
  /** TaskQueue callers resolved with their task's value. */
  tasksCompleted: number;
  /** Items handled by the actor's local mailbox. */
  localItems: number;
  /** Revisions of the settings changes the runtime applied and told the actor about. */
  readonly settingsApplied: number[];
}

/** A fresh probe for one cycle, with the resolver of its `ready` promise. */
export function soakActorProbe(): { probe: SoakActorProbe; markReady: () => void } {
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  return {
    probe: {
      ready,
      handled: 0,
      handlersInFlight: 0,
      tasksCompleted: 0,
      localItems: 0,
      settingsApplied: [],
    },
    markReady,
  };
}

/**
 * The small actor the actor soak starts and drains again and again. Each load message (a heartbeat
 * on `<ns>.heartbeat.soakload`, through `ctx.subscribe` and a concurrent mailbox) runs a short
 * TaskQueue task, passes an item through a local ordered mailbox and records a metric. Settings
 * changes reach it through `onSettings`. Planted leaks are made in `start` (timers, heap) and in the
 * first handler call (one that never settles and ignores its signal).
 */
export function soakActor(
  probe: SoakActorProbe,
  markReady: () => void,
  plants: PlantedLeaks,
): ActorDefinition {
  return {
    name: SOAK_ACTOR,
    async start(ctx) {
      plants.leakTimer();
      plants.leakHeap();
      const local = ctx.mailbox<number>({
        name: "local",
        mode: "ordered",
        handler: async () => {
          probe.localItems++;
        },
      });
      let calls = 0;
      ctx.subscribe(
        "heartbeat",
        async (msg, _mctx, signal) => {
          const call = calls++;
          probe.handlersInFlight++;
          try {
            if (call === 0 && plants.unsettled) await new Promise<never>(() => {});
            await ctx.worker.submit(
              (taskSignal) =>
                new Promise<void>((resolve, reject) => {
                  const timer = setTimeout(resolve, msg.uptimeMs % 3);
                  taskSignal.addEventListener(
                    "abort",
                    () => {
                      clearTimeout(timer);
                      reject(taskSignal.reason);
                    },
                    { once: true },
                  );
                }),
              { name: `load-${call}`, signal },
            );
            probe.tasksCompleted++;
            await local.push(call);
            ctx.telemetry.metric(`${SOAK_ACTOR}.load.handled`, probe.handled + 1);
            probe.handled++;
          } finally {
            probe.handlersInFlight--;
          }
        },
        { params: { actor: SOAK_LOAD_SUBJECT_ACTOR }, mailbox: "load", mode: "concurrent" },
      );
      await ctx.bus.nc.flush();
      markReady();
    },
    onSettings(change) {
      probe.settingsApplied.push(change.revision);
    },
  };
}
