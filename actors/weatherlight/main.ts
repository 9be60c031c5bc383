import type { WorkerSettingsInput } from "../../contracts/messages/worker-settings.ts";
import { locateFashionMnist } from "../../nn/data/fashion-mnist.ts";
import { JOB_ENV, selectJob } from "../../nn/presets/job-selection.ts";
import type { ActorDefinition, PreflightCheck } from "../runtime/actor-types.ts";
import { signingKeyCheck } from "../runtime/preflight-checks.ts";
import { CommandRejections } from "./command-rejections.ts";
import {
  childInstanceId,
  EMBEDDED_ACTORS,
  type EmbeddedRunOptions,
  type EmbeddedRunResult,
  runEmbedded,
} from "./embedded-run.ts";
import { startHealthServer } from "./health-server.ts";
import { startSettingsOwner } from "./settings-owner.ts";
import { SystemHealthMonitor } from "./system-health-monitor.ts";
import { startTelemetryRouter } from "./telemetry-router.ts";

/** How long the telemetry router may route what it holds when Weatherlight drains. */
const ROUTER_STOP_GRACE_MS = 2_000;

/** How Weatherlight is configured for an embedded run (`esper up`). */
export interface WeatherlightOptions extends EmbeddedRunOptions {
  /** The worker settings Weatherlight writes to the settings bucket at start (defaults: the schema's). */
  readonly settings: WorkerSettingsInput;
  /** The health endpoint (`--http <port>`, 0 = a free port): `onListening` gets its URL once it listens. */
  readonly http: { readonly port: number; readonly onListening: (url: string) => void };
}

/** The Weatherlight actor of one embedded run, and the run's result once it has ended. */
export interface Weatherlight {
  readonly actor: ActorDefinition;
  /** Resolves when the run has ended and its directory is written; rejects when the run could not be set up. */
  readonly result: Promise<EmbeddedRunResult>;
}

/**
 * Builds Weatherlight for an embedded run. Preflight: NATS with JetStream (the connection), every bus
 * resource declared and the worker settings written (the supervisor role), the signing key, the job
 * and its data set (Fashion-MNIST files present). Start: the telemetry router (raw telemetry of every
 * actor to the normal and emergency streams by priority), the health monitor and its HTTP server
 * (`/healthz`, `/metrics` on `options.http.port`), then the run as long task `run` (see
 * `runEmbedded`); a completed run ends the actor with exit 0, a failed one with `ctx.fail` (exit 7),
 * a drain (Ctrl-C) stops the children in reverse order and ends with the drain's code.
 */
export function createWeatherlight(options: WeatherlightOptions): Weatherlight {
  let settle: { resolve(r: EmbeddedRunResult): void; reject(e: unknown): void } | undefined;
  const result = new Promise<EmbeddedRunResult>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const jobCheck: PreflightCheck = {
    name: "weatherlight-job",
    async run(ctx) {
      const { preset } = selectJob({ [JOB_ENV]: options.job });
      if (preset.dataset.kind === "fashion-mnist") await locateFashionMnist(options.fashionMnistDir);
      ctx.log.info({ job: preset.name, dataset: preset.dataset.kind }, "weatherlight job checked");
    },
  };
  const actor: ActorDefinition = {
    name: "weatherlight",
    supervisor: { initialSettings: () => options.settings },
    preflight: [signingKeyCheck, jobCheck],
    async start(ctx) {
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
        instanceOf: (actor) => childInstanceId(actor, ctx.runId),
        routerStats: router.stats,
        rejections,
        settings: () => ctx.settings(),
      });
      const health = await startHealthServer({
        port: options.http.port,
        snapshot: () => monitor.snapshot(),
        routerStats: router.stats,
      }).catch(async (error: unknown) => {
        await monitor.stop();
        await router.stop(0);
        throw error;
      });
      options.http.onListening(health.url);
      await ctx.bus.nc.flush();
      ctx.runTask("run", async () => {
        let run: EmbeddedRunResult;
        try {
          run = await runEmbedded(ctx, {
            ...options,
            onSupervising: (supervisor, policy) => monitor.supervising(supervisor, policy),
          });
        } catch (error) {
          settle?.reject(error);
          throw error;
        } finally {
          // After the children stopped, so their last telemetry is routed too.
          await router.stop(ROUTER_STOP_GRACE_MS);
          await monitor.stop();
          await health.close();
        }
        settle?.resolve(run);
        if (run.outcome === "completed") ctx.finish(`run ${ctx.runId} completed`);
        else if (run.outcome === "failed") ctx.fail(`run ${ctx.runId} failed: ${run.reason}`);
      });
    },
  };
  return { actor, result };
}
