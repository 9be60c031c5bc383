import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ActorHandle, startActor } from "../../actors/runtime/actor.ts";
import { startSettingsOwner } from "../../actors/weatherlight/settings-owner.ts";
import { type ActorStage, actorStage } from "../../test/actor-stage.ts";
import { useNatsServer } from "../../test/bus-fixture.ts";
import { captureCommand } from "../../test/command-output.ts";
import { runEsper } from "../../test/esper-process.ts";
import { main } from "../main.ts";

const get = (args: readonly string[]): Promise<number> => main(["settings", "get", ...args]);
const set = (args: readonly string[]): Promise<number> => main(["settings", "set", ...args]);

const KEY = "settings-cli-test-key-0123456789";
const fixture = useNatsServer();
const savedTimeout = process.env.ESPER_CONNECT_TIMEOUT_MS;
const saved = { ns: process.env.ESPER_NAMESPACE, key: process.env.ESPER_SIGNING_KEY };
let stage: ActorStage;
let weatherlight: ActorHandle;
let url: string;

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

beforeAll(async () => {
  stage = await actorStage(fixture, "weatherlight", { resources: "none", signingKey: KEY });
  url = stage.env.ESPER_NATS_URL as string;
  weatherlight = startActor(
    {
      name: "weatherlight",
      supervisor: { initialSettings: () => ({}) },
      async start(ctx) {
        await startSettingsOwner(ctx);
      },
    },
    { env: stage.env, handleSignals: false },
  );
  const end = Date.now() + 10_000;
  while (weatherlight.lifecycle.state !== "running") {
    if (Date.now() > end) throw new Error("weatherlight did not start");
    await new Promise((r) => setTimeout(r, 20));
  }
  process.env.ESPER_NAMESPACE = stage.ns;
  process.env.ESPER_SIGNING_KEY = KEY;
});

afterAll(async () => {
  restore("ESPER_NAMESPACE", saved.ns);
  restore("ESPER_SIGNING_KEY", saved.key);
  weatherlight?.drain("test end");
  await weatherlight?.done;
  await stage?.close();
});

describe("esper settings get|set (real nats-server, in-process Weatherlight settings owner)", () => {
  it("gets every setting, or one key as JSON", async () => {
    const all = await captureCommand(get, ["--nats", url]);
    expect(all.code).toBe(0);
    expect(all.out).toMatch(/^revision 0\n/);
    expect(all.out).toContain("timeouts.decisionDeadlineMs = 2000\n");
    const one = await captureCommand(get, ["timeouts", "--json", "--nats", url]);
    expect(JSON.parse(one.out)).toMatchObject({
      namespace: stage.ns,
      revision: 0,
      key: "timeouts",
      value: { decisionDeadlineMs: 2000 },
    });
  });

  it("sets a value, prints the change and the new revision, and get then shows it", async () => {
    const r = await captureCommand(set, ["timeouts.decisionDeadlineMs=750", "--nats", url]);
    expect(r).toMatchObject({ code: 0, out: "revision 1\ntimeouts.decisionDeadlineMs: 2000 → 750\n" });
    const after = await captureCommand(get, ["timeouts.decisionDeadlineMs", "--nats", url]);
    expect(after.out).toBe("revision 1\ntimeouts.decisionDeadlineMs = 750\n");
  });

  it("exits 1 printing the field and reason when Weatherlight refuses the set", async () => {
    const r = await captureCommand(set, ["worker.concurrency=0", "--nats", url]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^esper settings set: refused: worker\.concurrency: /);
    const stale = await captureCommand(set, [
      "worker.concurrency=3",
      "--expect-revision",
      "0",
      "--nats",
      url,
    ]);
    expect(stale.code).toBe(1);
    expect(stale.err).toContain("refused: expectedRevision: the settings are at revision 1, not 0");
  });

  it("exits 2 for bad arguments, an unknown key, or no ESPER_SIGNING_KEY", async () => {
    expect((await captureCommand(set, ["worker.concurrency", "--nats", url])).err).toContain(
      "must be key=value",
    );
    expect((await captureCommand(set, ["--nats", url])).code).toBe(2);
    expect((await captureCommand(set, ["a=null", "--nats", url])).code).toBe(2);
    expect((await captureCommand(get, ["worker..x", "--nats", url])).code).toBe(2);
    const unknown = await captureCommand(get, ["worker.nothing", "--nats", url]);
    expect(unknown).toMatchObject({ code: 2, err: "esper settings get: unknown setting 'worker.nothing'\n" });
    delete process.env.ESPER_SIGNING_KEY;
    try {
      const unsigned = await captureCommand(set, ["worker.concurrency=3", "--nats", url]);
      expect(unsigned.code).toBe(2);
      expect(unsigned.err).toContain("ESPER_SIGNING_KEY is not set");
    } finally {
      process.env.ESPER_SIGNING_KEY = KEY;
    }
  });

  it("exits 3 with a clear message when no Weatherlight answers", async () => {
    process.env.ESPER_NAMESPACE = `${stage.ns}x`;
    try {
      const r = await captureCommand(get, ["--nats", url]);
      expect(r.code).toBe(3);
      expect(r.err).toContain(`no Weatherlight answers on ${stage.ns}x.weatherlight.settings`);
      process.env.ESPER_CONNECT_TIMEOUT_MS = "300";
      const down = await captureCommand(set, ["worker.concurrency=3", "--nats", "nats://127.0.0.1:1"]);
      expect(down.code).toBe(3);
      expect(down.err).toContain("cannot reach NATS");
    } finally {
      process.env.ESPER_NAMESPACE = stage.ns;
      restore("ESPER_CONNECT_TIMEOUT_MS", savedTimeout);
    }
  });

  it("runs as `esper settings set` and `esper settings get` in a child process", async () => {
    const env = { ...stage.env, ESPER_LOG_LEVEL: "warn" };
    const setResult = await runEsper(
      ["settings", "set", "cadence.seedReportEverySteps=20", "--json"],
      env,
      30_000,
    );
    expect(setResult.code).toBe(0);
    expect(JSON.parse(setResult.stdout)).toMatchObject({ ok: true, revision: 2 });
    const getResult = await runEsper(["settings", "get", "cadence.seedReportEverySteps"], env, 30_000);
    expect(getResult).toMatchObject({ code: 0, stdout: "revision 2\ncadence.seedReportEverySteps = 20\n" });
  });
});
