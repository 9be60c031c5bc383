import type { BusConnection } from "../../bus/connection.ts";
import { type BusSubscription, listenTyped } from "../../bus/typed.ts";
import { subjectFor } from "../../contracts/subjects.ts";

/** What became of a command: applied (and how it shows), or rejected with the target's reason. */
export type CommandOutcome =
  | { readonly status: "applied"; readonly evidence: string }
  | { readonly status: "rejected"; readonly reason: string; readonly detail: string };

/** A watch on the outcome of one command, opened before the command is published. */
export interface OutcomeWatch {
  /** Resolves with the outcome, or undefined when none was seen within `timeoutMs`. */
  wait(timeoutMs: number): Promise<CommandOutcome | undefined>;
  /** Stops listening. */
  stop(): Promise<void>;
}

/**
 * Watches run `runId` for the outcome of command `commandId` sent to `target`:
 * - applied: a SeedDirective carrying the command id (Kasmina's germination or cull of a grafted seed),
 *   or a telemetry event `<target>.command.applied` with attribute `commandId`, or Kasmina's
 *   `kasmina.seed.culled` whose reason names the command;
 * - rejected: a telemetry event `<target>.command.rejected` with attributes `commandId` and `reason`
 *   (its description or `detail` attribute is the detail).
 * Telemetry is read on the target's raw subject `telemetry.raw.<target>`.
 */
export function watchOutcome(
  bus: BusConnection,
  runId: string,
  target: string,
  commandId: string,
): OutcomeWatch {
  let settle: (o: CommandOutcome) => void = () => undefined;
  let seen: CommandOutcome | undefined;
  const outcome = new Promise<CommandOutcome>((resolve) => {
    settle = (o) => {
      seen ??= o;
      resolve(seen);
    };
  });
  const subs: BusSubscription[] = [
    listenTyped(
      bus,
      subjectFor(bus.namespace, "seedDirective", { run: runId }),
      "SeedDirective",
      (d) => {
        if (d.commandId === commandId) {
          settle({ status: "applied", evidence: `directive ${d.directiveId} (${d.action})` });
        }
      },
      {},
    ),
    listenTyped(
      bus,
      subjectFor(bus.namespace, "telemetryRaw", { actor: target }),
      "TelemetryPacket",
      (packet) => {
        for (const e of packet.events) {
          const a = e.attributes ?? {};
          if (e.eventId === `${target}.command.rejected` && a.commandId === commandId) {
            settle({
              status: "rejected",
              reason: a.reason ?? e.eventId,
              detail: a.detail ?? e.description,
            });
          } else if (e.eventId === `${target}.command.applied` && a.commandId === commandId) {
            settle({ status: "applied", evidence: e.description });
          } else if (e.eventId === "kasmina.seed.culled" && a.reason?.startsWith(`command ${commandId}:`)) {
            settle({ status: "applied", evidence: `seed ${a.seedId ?? "?"} culled` });
          }
        }
      },
      {},
    ),
  ];
  return {
    async wait(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      });
      try {
        return await Promise.race([outcome, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async stop() {
      await Promise.all(subs.map((s) => s.stop()));
    },
  };
}
