import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectBus } from "../../bus/connection.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { runEsper, startEsper } from "../../test/esper-process.ts";
import { until } from "../../test/until.ts";
import { startActor } from "../runtime/actor.ts";
import { ActorExitCode } from "../runtime/exit-codes.ts";
import { ActorChild, type ActorChildSpec, actorCommand } from "./child-processes.ts";
import { createComposeWeatherlight, HTTP_PORT_ENV } from "./compose-service.ts";
import { EMBEDDED_ACTORS } from "./embedded-run.ts";
import { heartbeatReadiness } from "./heartbeat-readiness.ts";
import { stopInReverse } from "./start-order.ts";
import type { HealthSnapshot } from "./system-health-schema.ts";

const fixture = useNatsServer();
const KEY = "compose-test-signing-key-0123456789";
const NS = "wlcompose";
const RUN = "run-compose";
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "wl-compose-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The instance id compose would give an actor's container (kept across its restarts). */
const instanceOf = (actor: string): string => `${actor}-container`;

function specOf(actor: string): ActorChildSpec {
  return {
    name: actor,
    command: actorCommand(actor),
    env: {
      namespace: NS,
      instanceId: instanceOf(actor),
      natsServers: [fixture.server.url],
      runId: RUN,
      signingKey: KEY,
      logLevel: "warn",
      job: "spirals-soak",
      ...(actor === "tamiyo" ? { tamiyoWalDir: join(dir, "tamiyo") } : {}),
      ...(actor === "tolaria" ? { tolariaCheckpointDir: join(dir, "tolaria") } : {}),
    },
  };
}

async function health(url: string): Promise<{ status: number; body: HealthSnapshot }> {
  const res = await fetch(`${url}/healthz`);
  return { status: res.status, body: (await res.json()) as HealthSnapshot };
}

async function healthBecomes(url: string, status: number, what: string): Promise<HealthSnapshot> {
  let last: { status: number; body: HealthSnapshot } | undefined;
  await until(
    async () => {
      last = await health(url);
      return last.status === status;
    },
    `${what} (last: ${JSON.stringify(last?.body.reasons)})`,
    30_000,
  );
  return (last as { body: HealthSnapshot }).body;
}

describe("Weatherlight in compose mode (actors started separately, real processes)", {
  timeout: 60_000,
}, () => {
  it("judges the stack from heartbeats alone: operational, degraded while an actor is down, a restart by compose counted", async () => {
    await mkdir(join(dir, "tamiyo"));
    let url: string | undefined;
    const weatherlight = startActor(
      createComposeWeatherlight({
        env: { [HTTP_PORT_ENV]: "0" },
        settings: {
          timeouts: { heartbeatMissedAfterMs: 2_000 },
          supervisor: { restartIntensity: 2, restartPeriodMs: 60_000 },
        },
        onListening: (u) => {
          url = u;
        },
      }),
      {
        env: {
          ESPER_NATS_URL: fixture.server.url,
          ESPER_NAMESPACE: NS,
          ESPER_SIGNING_KEY: KEY,
          ESPER_INSTANCE_ID: "weatherlight-container",
          ESPER_LOG_LEVEL: "warn",
        },
        handleSignals: false,
        logDestination: pino.destination(2),
      },
    );
    const bus = await connectBus({ ...fixture.server.address, name: "compose-test", namespace: NS });
    const children: ActorChild[] = [];
    try {
      await until(() => url !== undefined, "the health endpoint");
      const base = url as string;
      const before = await health(base);
      expect(before.status).toBe(503);
      expect(before.body.reasons).toContain("urza has sent no heartbeat");

      // compose: each service once the one it depends on is healthy.
      const ready = heartbeatReadiness(bus, instanceOf);
      for (const actor of EMBEDDED_ACTORS) {
        children.push(await ActorChild.spawn(specOf(actor), () => undefined));
        await ready(actor, AbortSignal.timeout(30_000));
      }
      const up = await healthBecomes(base, 200, "operational");
      expect(up.children.map((c) => [c.actor, c.supervision, c.up, c.restarts])).toEqual(
        EMBEDDED_ACTORS.map((a) => [a, "external", true, 0]),
      );

      const kasmina = children[1] as ActorChild;
      process.kill(kasmina.pid, "SIGKILL");
      const down = await healthBecomes(base, 503, "degraded while kasmina is down");
      expect(down.reasons.join("\n")).toMatch(/kasmina sent no heartbeat for \d+ ms/);

      // compose restarts the container: the same service, a new process.
      children[1] = await ActorChild.spawn(specOf("kasmina"), () => undefined);
      const back = await healthBecomes(base, 200, "operational again");
      expect(back.children.find((c) => c.actor === "kasmina")).toMatchObject({ restarts: 1, up: true });
      expect(back.supervision.restartsInPeriod).toBe(1);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain('esper_weatherlight_child_restarts_total{actor="kasmina"} 1');
      expect(metrics).toContain('esper_weatherlight_system_mode{mode="operational"} 1');
    } finally {
      await stopInReverse(children, 10_000);
      await bus.close();
      weatherlight.drain("test end");
    }
    expect(await weatherlight.done).toBe(ActorExitCode.ok);
  });

  it("runs as `esper actor weatherlight --http PORT`, spawns no actor and drains on SIGTERM", async () => {
    const env = { ESPER_NAMESPACE: "wlcompose2", ESPER_SIGNING_KEY: KEY, ESPER_LOG_LEVEL: "info" };
    const service = startEsper(
      ["actor", "weatherlight", "--nats", fixture.server.url, "--http", "0"],
      env,
      30_000,
    );
    try {
      const line = await service.waitForLine((l) => l.includes("health endpoint"));
      const url = (JSON.parse(line) as { url: string }).url;
      const res = await fetch(url);
      expect(res.status).toBe(503);
      const body = (await res.json()) as HealthSnapshot;
      expect(body.children.map((c) => [c.actor, c.supervision, c.heartbeat])).toEqual(
        EMBEDDED_ACTORS.map((a) => [a, "external", null]),
      );
      process.kill(service.pid ?? 0, "SIGTERM");
      const result = await service.result;
      expect(result.code).toBe(ActorExitCode.ok);
      expect(result.stdout + result.stderr).not.toMatch(/spawned/);
    } finally {
      await service.kill();
    }
  });

  it("without --http or ESPER_WEATHERLIGHT_HTTP_PORT, fails its preflight naming the variable (permanent exit 5)", async () => {
    const result = await runEsper(
      ["actor", "weatherlight", "--nats", fixture.server.url],
      { ESPER_NAMESPACE: "wlcompose3", ESPER_SIGNING_KEY: KEY },
      30_000,
    );
    expect(result.code).toBe(ActorExitCode.preflightFailed);
    expect(result.stderr + result.stdout).toContain(`${HTTP_PORT_ENV} is not set`);
  });
});
