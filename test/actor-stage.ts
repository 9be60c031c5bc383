import { type BusConnection, connectBus } from "../bus/connection.ts";
import { ensureBucket, ensureResources } from "../bus/jetstream/ensure.ts";
import { subscribe } from "../bus/typed.ts";
import type { TelemetryEvent, TelemetryPacket } from "../contracts/messages/telemetry.ts";
import type { TestServerFixture } from "./bus-fixture.ts";

/** Options of {@link actorStage}. */
export interface ActorStageOptions {
  /** Bus resources to declare: all (`ensureResources`), only the settings bucket, or none; default "all". */
  readonly resources?: "all" | "settings only" | "none";
  /** Becomes `ESPER_SIGNING_KEY` in {@link ActorStage.env}. */
  readonly signingKey?: string;
  /** Added to (and overriding) {@link ActorStage.env}. */
  readonly extraEnv?: Readonly<Record<string, string>>;
  /** `ESPER_INSTANCE_ID`; default `<actor>-1`. */
  readonly instanceId?: string;
}

/** A random namespace, a connection to the test server, the actor's telemetry and its environment. */
export interface ActorStage {
  readonly ns: string;
  /** The run id, `run-<ns>` (also `ESPER_RUN_ID`). */
  readonly run: string;
  readonly bus: BusConnection;
  /** Every telemetry packet the actor published, in order. */
  readonly packets: TelemetryPacket[];
  /** The received telemetry events with this `eventId`. */
  events(id: string): TelemetryEvent[];
  /** The actor's `ESPER_*` environment for `startActor`. */
  readonly env: Record<string, string>;
  /** Stops the telemetry subscription and closes the connection. */
  close(): Promise<void>;
}

let nsCounter = 0;

/**
 * Connects to `fixture`'s server in a fresh namespace, declares `opts.resources`, collects `actor`'s
 * `telemetryRaw` packets and builds its environment (log level warn, plain logs).
 */
export async function actorStage(
  fixture: TestServerFixture,
  actor: string,
  opts: ActorStageOptions = {},
): Promise<ActorStage> {
  const ns = `${actor}${nsCounter++}${Math.random().toString(36).slice(2, 6)}`;
  const run = `run-${ns}`;
  const address = fixture.server.address;
  const bus = await connectBus({ name: `${actor}-main-test`, namespace: ns, ...address });
  const resources = opts.resources ?? "all";
  if (resources === "all") await ensureResources(bus);
  else if (resources === "settings only") await ensureBucket(bus, "settings");
  const packets: TelemetryPacket[] = [];
  const sub = subscribe(bus, "telemetryRaw", (p) => void packets.push(p), { params: { actor } });
  await bus.nc.flush();
  return {
    ns,
    run,
    bus,
    packets,
    events: (id) => packets.flatMap((p) => p.events.filter((e) => e.eventId === id)),
    env: {
      ESPER_NAMESPACE: ns,
      ESPER_NATS_URL: address.servers as string,
      ...(address.user !== undefined && address.pass !== undefined
        ? { ESPER_NATS_USER: address.user, ESPER_NATS_PASS: address.pass }
        : {}),
      ESPER_INSTANCE_ID: opts.instanceId ?? `${actor}-1`,
      ESPER_RUN_ID: run,
      ...(opts.signingKey !== undefined ? { ESPER_SIGNING_KEY: opts.signingKey } : {}),
      ESPER_LOG_LEVEL: "warn",
      ESPER_LOG_PRETTY: "0",
      ...opts.extraEnv,
    },
    async close() {
      await sub.stop();
      await bus.close();
    },
  };
}
