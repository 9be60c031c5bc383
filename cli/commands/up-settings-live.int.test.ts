import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EMBEDDED_ACTORS } from "../../actors/weatherlight/embedded-run.ts";
import { isAlive } from "../../actors/weatherlight/testing/process-alive.ts";
import { startUpStack } from "../../actors/weatherlight/testing/up-stack.ts";
import { connectBus } from "../../bus/connection.ts";
import { subscribe } from "../../bus/typed.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { runEsper } from "../../test/esper-process.ts";
import { until } from "../../test/until.ts";

const fixture = useNatsServer();
const KEY = "up-stack-test-signing-key-0123456789";
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "esper-up-stack-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("esper up (real processes): live worker settings", { timeout: 60_000 }, () => {
  it("a settings change (esper settings set) reaches every actor live: each reports it applied", async () => {
    const { up, pids } = await startUpStack(fixture.server.url, dir, KEY, "upsettings");
    const bus = await connectBus({ ...fixture.server.address, name: "probe", namespace: "upsettings" });
    /** Per actor, the `changed` paths of each settings change it reported applied. */
    const applied = new Map<string, string[]>();
    const sources = new Set<string>();
    const sub = subscribe(bus, "telemetryRaw", (packet) => {
      sources.add(packet.sourceSubsystem);
      for (const e of packet.events) {
        if (e.eventId === `${packet.sourceSubsystem}.settings.applied`)
          applied.set(packet.sourceSubsystem, [
            ...(applied.get(packet.sourceSubsystem) ?? []),
            e.attributes?.changed ?? "",
          ]);
      }
    });
    try {
      await bus.nc.flush();
      const set = await runEsper(
        ["settings", "set", "cadence.heartbeatIntervalMs=400", "--json", "--nats", fixture.server.url],
        { ESPER_NAMESPACE: "upsettings", ESPER_SIGNING_KEY: KEY },
        20_000,
      );
      expect(set.code, set.stderr).toBe(0);
      expect(JSON.parse(set.stdout)).toMatchObject({ ok: true, revision: 1 });
      await until(
        () =>
          EMBEDDED_ACTORS.every((a) =>
            applied.get(a)?.some((c) => c.split(",").includes("cadence.heartbeatIntervalMs")),
          ),
        `every actor to apply the change (so far ${JSON.stringify([...applied])}; sources ${[...sources]})`,
        20_000,
      );
      expect(pids().every(isAlive)).toBe(true);
    } finally {
      await sub.stop(0);
      await bus.close();
      await up.kill();
    }
  });
});
