import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BusConnection, connectBus } from "../../bus/connection.ts";
import { ensureResources } from "../../bus/jetstream/ensure.ts";
import { request, subscribe } from "../../bus/typed.ts";
import type { Heartbeat } from "../../contracts/messages/runtime.ts";
import { startNatsServer, type TestNatsServer } from "../../test/nats-server.ts";
import { ActorExitCode } from "../runtime/exit-codes.ts";
import { buildLibrary, libraryConfigs } from "./library.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const NS = "urzaproc";

let server: TestNatsServer;
let bus: BusConnection;

beforeAll(async () => {
  server = await startNatsServer();
  bus = await connectBus({ name: "urza-process-test", namespace: NS, ...server.address });
  await ensureResources(bus);
});

afterAll(async () => {
  await bus?.close();
  await server?.stop();
});

/** Waits for `cond`; fails at once when the child has exited, or after `ms`. */
async function until(
  cond: () => boolean,
  what: string,
  child: ChildProcess,
  stderr: () => string,
  ms = 30_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (child.exitCode !== null)
      throw new Error(`exited ${child.exitCode} before ${what}; stderr:\n${stderr()}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; stderr:\n${stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("`esper actor urza` in a child process (real nats-server)", () => {
  it("starts, answers a prefetch request and exits 0 on SIGTERM", async () => {
    const known = buildLibrary(libraryConfigs(), 0)[0]?.descriptor;
    if (known === undefined) throw new Error("the library is empty");
    const heartbeats: Heartbeat[] = [];
    const sub = subscribe(bus, "heartbeat", (hb) => void heartbeats.push(hb), { params: { actor: "urza" } });
    await bus.nc.flush();
    const address = server.address;
    const child = spawn(process.execPath, ["bin/esper.js", "actor", "urza", "--nats", server.url], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        ESPER_NAMESPACE: NS,
        ...(address.user !== undefined && address.pass !== undefined
          ? { ESPER_NATS_USER: address.user, ESPER_NATS_PASS: address.pass }
          : {}),
        ESPER_RUN_ID: "run-urza-process",
        ESPER_INSTANCE_ID: "urza-proc-1",
        ESPER_LOG_LEVEL: "warn",
        ESPER_LOG_PRETTY: "0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    child.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.stdout?.resume();
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      await until(
        () => heartbeats.some((hb) => hb.state === "running"),
        "a running heartbeat",
        child,
        () => err,
      );
      const reply = await request(
        bus,
        "urzaPrefetch",
        {
          requestId: "req-proc",
          blueprintId: known.blueprintId,
          trainingRunId: "run-1",
          issuedAt: Date.now(),
        },
        { timeoutMs: 10_000 },
      );
      expect(reply).toMatchObject({
        status: "ready",
        requestId: "req-proc",
        artifactRef: known.artifactSha256,
        checksum: known.artifactSha256,
      });
      child.kill("SIGTERM");
      expect(await exited, err).toBe(ActorExitCode.ok);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
      await sub.stop();
    }
  }, 60_000);
});
