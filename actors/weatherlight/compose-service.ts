import type { WorkerSettingsInput } from "../../contracts/messages/worker-settings.ts";
import type { ActorDefinition, PreflightCheck } from "../runtime/actor-types.ts";
import { signingKeyCheck } from "../runtime/preflight-checks.ts";
import { CommandRejections } from "./command-rejections.ts";
import { EMBEDDED_ACTORS } from "./embedded-run.ts";
import { type HealthServer, startHealthServer } from "./health-server.ts";
import { startSettingsOwner } from "./settings-owner.ts";
import { SystemHealthMonitor } from "./system-health-monitor.ts";
import { startTelemetryRouter, type TelemetryRouter } from "./telemetry-router.ts";

/** The health endpoint's port (`esper actor weatherlight --http PORT` sets it; 0 = a free port). */
export const HTTP_PORT_ENV = "ESPER_WEATHERLIGHT_HTTP_PORT";
/** The address the health endpoint listens on; default 127.0.0.1 (0.0.0.0 to be scraped from outside a container). */
export const HTTP_HOST_ENV = "ESPER_WEATHERLIGHT_HTTP_HOST";

/** How long the telemetry router may route what it holds when Weatherlight drains. */
const ROUTER_STOP_GRACE_MS = 2_000;

/** Where the compose-mode health endpoint listens. */
export interface ComposeHttp {
  readonly port: number;
  readonly host: string;
}

/** Reads the health endpoint's port and host from `env`; a missing or bad port is an error naming the variable. */
export function composeHttpOf(env: Readonly<Record<string, string | undefined>>): ComposeHttp {
  const port = env[HTTP_PORT_ENV];
  if (port === undefined) {
    throw new Error(`${HTTP_PORT_ENV} is not set (or give --http PORT): the port of /healthz and /metrics`);
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65_535) {
    throw new Error(`${HTTP_PORT_ENV} must be a port number 0-65535 (0: a free port), got '${port}'`);
  }
  return { port: Number(port), host: env[HTTP_HOST_ENV] ?? "127.0.0.1" };
}

/** How compose-mode Weatherlight is configured. */
export interface ComposeWeatherlightOptions {
  /** Where ESPER_WEATHERLIGHT_HTTP_PORT / _HOST are read (at preflight). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The worker settings written to the settings bucket at start. */
  readonly settings: WorkerSettingsInput;
  /** Gets the health endpoint's URL once it listens (it is also logged). */
  readonly onListening?: (url: string) => void;
}

/**
 * Weatherlight as a service of a stack it does not spawn (compose mode, `esper actor weatherlight`):
 * the actors run in their own containers and compose restarts them. Preflight: the signing key and
 * the health endpoint's settings. Start: the settings owner (it writes the settings bucket and is its
 * only writer), the telemetry router, the health monitor on heartbeats alone (every instance of
 * urza, kasmina, tamiyo and tolaria; a new process of an actor counts as a restart towards the
 * restart intensity) and `/healthz` + `/metrics`. Runs until drained.
 */
export function createComposeWeatherlight(options: ComposeWeatherlightOptions): ActorDefinition {
  let http: ComposeHttp | undefined;
  let running: { router: TelemetryRouter; monitor: SystemHealthMonitor; health: HealthServer } | undefined;
  const httpCheck: PreflightCheck = {
    name: "weatherlight-http",
    run() {
      http = composeHttpOf(options.env);
    },
  };
  return {
    name: "weatherlight",
    supervisor: { initialSettings: () => options.settings },
    preflight: [signingKeyCheck, httpCheck],
    async start(ctx) {
      if (http === undefined)
        throw new Error("weatherlight started without its http settings: the preflight did not run");
      await startSettingsOwner(ctx);
      const rejections = new CommandRejections();
      const router = startTelemetryRouter({
        bus: ctx.bus,
        emergency: () => ctx.settings().emergency,
        events: ctx.telemetry,
        onPacket: (packet) => rejections.observe(packet),
      });
      const monitor = new SystemHealthMonitor({
        bus: ctx.bus,
        runId: ctx.runId,
        actors: EMBEDDED_ACTORS,
        routerStats: router.stats,
        rejections,
        settings: () => ctx.settings(),
      });
      const health = await startHealthServer({
        port: http.port,
        host: http.host,
        snapshot: () => monitor.snapshot(),
        routerStats: router.stats,
      }).catch(async (error: unknown) => {
        await monitor.stop();
        await router.stop(0);
        throw error;
      });
      running = { router, monitor, health };
      ctx.log.info({ url: `${health.url}/healthz` }, "weatherlight (compose mode): health endpoint");
      options.onListening?.(health.url);
    },
    async stop() {
      if (running === undefined) return;
      await running.health.close();
      await running.router.stop(ROUTER_STOP_GRACE_MS);
      await running.monitor.stop();
    },
  };
}

/** `esper actor weatherlight`: compose mode, worker settings from the schema's defaults. */
export const actor: ActorDefinition = createComposeWeatherlight({ env: process.env, settings: {} });
