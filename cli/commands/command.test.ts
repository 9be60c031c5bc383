import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jetStreamManagerOf } from "../../bus/jetstream/context.ts";
import { streamName } from "../../bus/jetstream/declarations.ts";
import { publish } from "../../bus/typed.ts";
import { decode } from "../../contracts/codec.ts";
import {
  CommandType,
  EmergencyLevel,
  MessagePriority,
  SeedOperation,
  TelemetryLevel,
} from "../../contracts/enums.ts";
import type { AdaptationCommand } from "../../contracts/messages/command.ts";
import type { ActorLifecycleState } from "../../contracts/messages/runtime.ts";
import { checkSignature } from "../../contracts/signing.ts";
import { subjectFor } from "../../contracts/subjects.ts";
import { useTestBus } from "../../test/bus-fixture.ts";
import { captureCommand } from "../../test/command-output.ts";
import { main } from "../main.ts";

const command = (args: readonly string[]): Promise<number> => main(["command", ...args]);
const emergency = (args: readonly string[]): Promise<number> => main(["emergency", ...args]);
const health = (args: readonly string[]): Promise<number> => main(["health", ...args]);

const KEY = "command-cli-test-key-0123456789";
const RUN = "run-cli";
const t = useTestBus("command-cli-test", { ensure: true });
const names = [
  "ESPER_NAMESPACE",
  "ESPER_SIGNING_KEY",
  "ESPER_NATS_USER",
  "ESPER_NATS_PASS",
  "ESPER_INSTANCE_ID",
] as const;
const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
let url: string;
let dir: string;

beforeAll(async () => {
  url = t.server.url;
  dir = await mkdtemp(join(tmpdir(), "esper-command-cli-"));
  process.env.ESPER_NAMESPACE = t.ns;
  process.env.ESPER_SIGNING_KEY = KEY;
  delete process.env.ESPER_INSTANCE_ID;
  const { user, pass } = t.server.address;
  if (user !== undefined && pass !== undefined) {
    process.env.ESPER_NATS_USER = user;
    process.env.ESPER_NATS_PASS = pass;
  }
});
afterAll(async () => {
  for (const n of names) {
    const v = saved[n];
    if (v === undefined) delete process.env[n];
    else process.env[n] = v;
  }
  await rm(dir, { recursive: true, force: true });
});

/** The command stored last on `command.<RUN>.<target>`. */
async function stored(target: string): Promise<AdaptationCommand> {
  const jsm = await jetStreamManagerOf(t.bus);
  const m = await jsm.streams.getMessage(streamName(t.ns, "commands"), {
    last_by_subj: subjectFor(t.ns, "command", { run: RUN, target }),
  });
  if (m === null) throw new Error(`no command stored for ${target}`);
  return decode("AdaptationCommand", m.data);
}

describe("esper command / esper emergency (real nats-server)", () => {
  it("esper emergency HALT stores a signed EMERGENCY command for Tolaria and prints its id", async () => {
    const r = await captureCommand(emergency, ["halt", "--run", RUN, "--reason", "drill", "--nats", url]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const c = await stored("tolaria");
    expect(r.out.split("\n")[0]).toBe(c.commandId);
    expect(c).toMatchObject({
      commandType: CommandType.EMERGENCY,
      trainingRunId: RUN,
      payload: { kind: "emergency", level: EmergencyLevel.HALT, reason: "drill" },
    });
    expect(c.issuedBy).toMatch(/^operator:/);
    expect(checkSignature("AdaptationCommand", c, KEY)).toBe("ok");
  });

  it("builds an optimizer adjustment from flags and a germination from a file, each for its target", async () => {
    const opt = await captureCommand(command, [
      "--run",
      RUN,
      "--optimizer",
      "sgd",
      "--lr",
      "0.05",
      "--json",
      "--nats",
      url,
    ]);
    expect(opt.code).toBe(0);
    expect(JSON.parse(opt.out)).toMatchObject({
      subject: `${t.ns}.command.${RUN}.tolaria`,
      duplicate: false,
    });
    expect((await stored("tolaria")).payload).toEqual({
      kind: "optimizer",
      optimizerId: "sgd",
      learningRate: 0.05,
    });

    const file = join(dir, "germinate.json");
    const payload = {
      kind: "seed",
      operation: SeedOperation.GERMINATE,
      blueprintId: "bp-1",
      blendMode: 2,
      schedule: { shape: 1, steps: 10, start: 0, end: 1 },
      resume: false,
      includeTeacher: false,
      parameters: {},
    };
    await writeFile(
      file,
      JSON.stringify({ commandType: "SEED", targetSeedId: "s1-g0", commandId: "f-1", payload }),
    );
    const fromFile = await captureCommand(command, ["--file", file, "--run", RUN, "--nats", url]);
    expect(fromFile.code).toBe(0);
    const c = await stored("kasmina");
    expect(c).toMatchObject({
      commandId: "f-1",
      commandType: CommandType.SEED,
      targetSeedId: "s1-g0",
      payload,
    });
    expect(checkSignature("AdaptationCommand", c, KEY)).toBe("ok");
    const again = await captureCommand(command, ["--file", file, "--run", RUN, "--json", "--nats", url]);
    expect(JSON.parse(again.out)).toMatchObject({ commandId: "f-1", duplicate: true });
  });

  it("exits 2 naming the problem: no signing key, a contract field, an unknown level, two commands", async () => {
    delete process.env.ESPER_SIGNING_KEY;
    const noKey = await captureCommand(emergency, ["halt", "--run", RUN, "--nats", url]);
    process.env.ESPER_SIGNING_KEY = KEY;
    expect(noKey).toMatchObject({ code: 2 });
    expect(noKey.err).toContain("ESPER_SIGNING_KEY is required");

    const file = join(dir, "bad.json");
    await writeFile(
      file,
      JSON.stringify({
        commandType: "SEED",
        targetSeedId: "s1-g0",
        payload: { kind: "seed", operation: 1, resume: false, includeTeacher: false, parameters: {} },
      }),
    );
    const bad = await captureCommand(command, ["--file", file, "--run", RUN, "--nats", url]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("payload.blueprintId");

    const level = await captureCommand(emergency, ["panic", "--run", RUN]);
    expect(level.code).toBe(2);
    expect(level.err).toContain("level must be one of NOTICE, ELEVATED, CONSERVATIVE, HALT, got 'panic'");
    const target = await captureCommand(emergency, [
      "halt",
      "--run",
      RUN,
      "--target",
      "tamiyo",
      "--nats",
      url,
    ]);
    expect(target.code).toBe(2);
    expect(target.err).toContain(
      "--target must be one of kasmina, tolaria (the actors consuming commands), got 'tamiyo'",
    );
    const two = await captureCommand(command, ["--run", RUN, "--pause", "--cull", "s1-g0", "--reason", "x"]);
    expect(two.code).toBe(2);
    expect(two.err).toContain("give one command");
  });

  it("--wait prints a rejection with its reason (exit 1) and gives up after --wait-timeout (exit 3)", async () => {
    const sub = t.bus.nc.subscribe(subjectFor(t.ns, "command", { run: RUN, target: "tolaria" }), {
      max: 1,
      callback: () => {
        publish(
          t.bus,
          "telemetryRaw",
          {
            packetId: "p-reject",
            timestampMs: Date.now(),
            sourceSubsystem: "tolaria",
            level: TelemetryLevel.ERROR,
            priority: MessagePriority.NORMAL,
            metrics: [],
            spans: [],
            events: [
              {
                eventId: "tolaria.command.rejected",
                description: "already paused",
                level: TelemetryLevel.ERROR,
                attributes: { commandId: "w-1", reason: "illegal_state", detail: "training is paused" },
              },
            ],
          },
          { params: { actor: "tolaria" } },
        );
      },
    });
    const r = await captureCommand(command, [
      "--run",
      RUN,
      "--pause",
      "--reason",
      "test",
      "--id",
      "w-1",
      "--wait",
      "--wait-timeout",
      "10000",
      "--nats",
      url,
    ]);
    sub.unsubscribe();
    expect(r.code).toBe(1);
    expect(r.out).toContain("rejected: illegal_state: training is paused\n");

    const none = await captureCommand(command, [
      "--run",
      RUN,
      "--resume",
      "--reason",
      "test",
      "--wait",
      "--wait-timeout",
      "300",
      "--nats",
      url,
    ]);
    expect(none.code).toBe(3);
    expect(none.err).toMatch(/no outcome of command .* from tolaria within 300 ms/);
  });
});

describe("esper health (real nats-server)", () => {
  const beat =
    (state: ActorLifecycleState, instanceId = "urza-1") =>
    () =>
      publish(
        t.bus,
        "heartbeat",
        {
          actor: "urza",
          instanceId,
          pid: 42,
          state,
          uptimeMs: 1000,
          timestampMs: Date.now(),
          mailboxDepths: {},
        },
        { params: { actor: "urza" } },
      );

  it("exits 0 on a running heartbeat, 1 on another state, 3 when none comes", async () => {
    let timer = setInterval(beat("running"), 50);
    const ok = await captureCommand(health, ["urza", "--instance", "urza-1", "--nats", url]);
    clearInterval(timer);
    expect(ok).toMatchObject({ code: 0, out: "urza urza-1 running (pid 42, up 1000 ms)\n" });
    timer = setInterval(beat("draining"), 50);
    const draining = await captureCommand(health, ["urza", "--nats", url]);
    clearInterval(timer);
    expect(draining.code).toBe(1);
    const here = `${hostname().replace(/[^A-Za-z0-9_-]/g, "-")}-77`;
    timer = setInterval(beat("running", "elsewhere-1"), 50);
    const notHere = await captureCommand(health, ["urza", "--this-host", "--timeout", "400", "--nats", url]);
    clearInterval(timer);
    expect(notHere.code).toBe(3);
    timer = setInterval(beat("running", here), 50);
    const onHost = await captureCommand(health, ["urza", "--this-host", "--nats", url]);
    clearInterval(timer);
    expect(onHost.out).toBe(`urza ${here} running (pid 42, up 1000 ms)\n`);
    const none = await captureCommand(health, [
      "urza",
      "--instance",
      "urza-2",
      "--timeout",
      "300",
      "--nats",
      url,
    ]);
    expect(none.code).toBe(3);
    expect(none.err).toContain("no heartbeat of urza instance urza-2 within 300 ms");
  });
});
