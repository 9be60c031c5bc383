import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signedSeedCommand } from "../../actors/kasmina/testing/seed-messages.ts";
import { type BusConnection, BusConnectionError, connectBus } from "../connection.ts";
import { jetStreamManagerOf } from "../jetstream/context.ts";
import { streamName } from "../jetstream/declarations.ts";
import { ensureResources } from "../jetstream/ensure.ts";
import { publishToStream } from "../jetstream/publish.ts";
import { findExecutable } from "./executable-path.ts";
import { type LocalNatsServer, startLocalNatsServer } from "./local-nats-server.ts";
import {
  authorizationConfig,
  OPERATOR_USER,
  passwordEnvironment,
  passwordVariable,
  randomStackPasswords,
  STACK_USERS,
  type StackUser,
} from "./permissions.ts";

const NS = "perm";
const RUN = "run-perm";
const KEY = "permissions-test-signing-key";
const passwords = randomStackPasswords();
let dir: string;
let server: LocalNatsServer;
const open: BusConnection[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "esper-perm-"));
  server = await startLocalNatsServer({
    storeDir: dir,
    extraConfig: authorizationConfig(NS),
    env: passwordEnvironment(passwords),
  });
});
afterAll(async () => {
  for (const c of open) await c.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function as(user: StackUser): Promise<BusConnection> {
  const bus = await connectBus({
    servers: server.url,
    name: `perm-${user}`,
    namespace: NS,
    user,
    pass: passwords[user],
    connectWindowMs: 2_000,
  });
  open.push(bus);
  return bus;
}

const command = (id: string) => signedSeedCommand(RUN, "seed-1", id, KEY);

describe("generated server permissions (real nats-server)", { timeout: 30_000 }, () => {
  it("makes passwords nats-server reads as strings from its environment (300 of them, `nats-server -t`)", async () => {
    const binary = findExecutable("nats-server");
    if (binary === undefined) throw new Error("nats-server is not on PATH: apt-get install nats-server");
    const conf = join(dir, "passwords.conf");
    await writeFile(conf, `port: -1\n${authorizationConfig(NS)}`);
    for (let round = 0; round < 50; round++) {
      const env = { ...process.env, ...passwordEnvironment(randomStackPasswords()) };
      const users = STACK_USERS.map((u) => `${u}=${env[passwordVariable(u)]}`).join(" ");
      expect(() => execFileSync(binary, ["-c", conf, "-t"], { env, stdio: "pipe" }), users).not.toThrow();
    }
  });

  it("lets the operator declare the resources and Tamiyo store a command for Kasmina", async () => {
    await ensureResources(await as(OPERATOR_USER));
    const tamiyo = await as("tamiyo");
    const ack = await publishToStream(tamiyo, "command", command("c-tamiyo"), {
      params: { run: RUN, target: "kasmina" },
      deadlineMs: 3_000,
    });
    expect(ack.duplicate).toBe(false);
  });

  it("refuses Tolaria publishing on Kasmina's command subject", async () => {
    const tolaria = await as("tolaria");
    const err = await publishToStream(tolaria, "command", command("c-tolaria"), {
      params: { run: RUN, target: "kasmina" },
      deadlineMs: 2_000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).cause ?? err)).toMatch(/permissions? violation/i);
  });

  it("refuses stream administration to an actor other than Weatherlight", async () => {
    const tamiyo = await as("tamiyo");
    const jsm = await jetStreamManagerOf(tamiyo);
    const err = await jsm.streams.delete(streamName(NS, "commands")).catch((e: unknown) => e);
    expect(String(err)).toMatch(/permissions violation/i);
    const weatherlight = await as("weatherlight");
    const info = await (await jetStreamManagerOf(weatherlight)).streams.info(streamName(NS, "commands"));
    expect(info.state.messages).toBe(1);
  });

  it("refuses an actor's heartbeat under another actor's name, accepts its own", async () => {
    const kasmina = await as("kasmina");
    const errors: string[] = [];
    void (async () => {
      for await (const s of kasmina.nc.status()) if (s.type === "error") errors.push(String(s.error));
    })();
    kasmina.nc.publish(`${NS}.heartbeat.kasmina`, new Uint8Array());
    await kasmina.nc.flush();
    expect(errors).toEqual([]);
    kasmina.nc.publish(`${NS}.heartbeat.tamiyo`, new Uint8Array());
    await kasmina.nc.flush();
    await new Promise((r) => setTimeout(r, 200));
    expect(errors.join("\n")).toMatch(/permissions violation for publish to "perm\.heartbeat\.tamiyo"/i);
  });

  it("refuses an anonymous client and a wrong password", async () => {
    const anonymous = await connectBus({
      servers: server.url,
      name: "anonymous",
      namespace: NS,
      connectWindowMs: 500,
    }).catch((e: unknown) => e);
    expect(anonymous).toBeInstanceOf(BusConnectionError);
    expect((anonymous as Error).message).toMatch(/authorization violation/i);
    const wrong = await connectBus({
      servers: server.url,
      name: "wrong",
      namespace: NS,
      user: "tamiyo",
      pass: passwords.tolaria,
      connectWindowMs: 500,
    }).catch((e: unknown) => e);
    expect((wrong as Error).message).toMatch(/authorization violation/i);
  });
});
