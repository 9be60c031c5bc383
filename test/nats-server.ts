import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, connect as netConnect } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import type { BusAddress } from "../bus/connection.ts";
import { type LocalNatsServer, startLocalNatsServer } from "../bus/server/local-nats-server.ts";

/** Options of {@link startNatsServer}. */
export interface TestNatsServerOptions {
  /** Store directory to use (kept on stop); default a fresh temp directory, removed by `stop()`. */
  readonly storeDir?: string;
  /** Container image used when a Docker engine is reachable; default `nats:2.9.10-alpine`. */
  readonly image?: string;
}

/** A nats-server with JetStream for one test file: ephemeral port, own store directory. */
export interface TestNatsServer {
  /** Which kind of server runs: the local binary or a testcontainers container. */
  readonly kind: "binary" | "container";
  /** `nats://host:port`; stays the same across `restart()`. */
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** What `connectBus` needs to reach this server (spread it into the connection options). */
  readonly address: BusAddress;
  /** Graceful stop; removes the store directory when the helper created it. Safe to call twice. */
  stop(): Promise<void>;
  /** Hard kill (SIGKILL), keeping the store directory, as in a crash. */
  kill(): Promise<void>;
  /** Starts the server again on the same port with the same store directory (after `kill()` or alone). */
  restart(): Promise<void>;
}

/** Neither a Docker engine nor the nats-server binary is available. */
export class NoNatsServerError extends Error {
  override readonly name = "NoNatsServerError";
}

/**
 * Starts a real nats-server with JetStream on an ephemeral port with its own store directory.
 * Uses testcontainers' NATS module when a Docker engine answers (checked within ~1 s), otherwise the
 * local `nats-server` binary; when neither is there, throws {@link NoNatsServerError} naming both.
 */
export async function startNatsServer(opts: TestNatsServerOptions = {}): Promise<TestNatsServer> {
  const ownDir = opts.storeDir === undefined;
  const storeDir = opts.storeDir ?? (await mkdtemp(join(tmpdir(), "esper-nats-")));
  const removeDir = async (): Promise<void> => {
    if (ownDir) await rm(storeDir, { recursive: true, force: true });
  };
  const docker = await dockerEngine();
  try {
    if (docker.reachable)
      return await startContainer(storeDir, opts.image ?? "nats:2.9.10-alpine", removeDir);
    return await startBinary(storeDir, removeDir);
  } catch (err) {
    await removeDir();
    const message = (err as Error).message;
    if (!docker.reachable && /not found on PATH/.test(message)) {
      throw new NoNatsServerError(
        `no NATS server for tests: no Docker engine is reachable (${docker.why}) and ${message}`,
      );
    }
    throw err;
  }
}

async function startBinary(storeDir: string, removeDir: () => Promise<void>): Promise<TestNatsServer> {
  let server: LocalNatsServer = await startLocalNatsServer({ storeDir });
  const { url, port } = server;
  let stopped = false;
  return {
    kind: "binary",
    url,
    port,
    storeDir,
    address: { servers: url },
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await removeDir();
    },
    kill: () => server.kill(),
    async restart() {
      await server.kill();
      server = await startLocalNatsServer({ storeDir, port });
    },
  };
}

interface DockerProbe {
  readonly reachable: boolean;
  readonly why: string;
}

/** Whether a Docker engine socket accepts connections (DOCKER_HOST or the usual socket paths), within 1 s. */
async function dockerEngine(): Promise<DockerProbe> {
  const host = process.env.DOCKER_HOST;
  const candidates: { path?: string; host?: string; port?: number; label: string }[] = [];
  if (host?.startsWith("unix://")) candidates.push({ path: host.slice(7), label: host });
  else if (host?.startsWith("tcp://")) {
    const u = new URL(host.replace(/^tcp:/, "http:"));
    candidates.push({ host: u.hostname, port: Number(u.port || 2375), label: host });
  } else {
    for (const p of [
      "/var/run/docker.sock",
      join(homedir(), ".docker/run/docker.sock"),
      join(process.env.XDG_RUNTIME_DIR ?? "/nonexistent", "docker.sock"),
    ]) {
      if (existsSync(p)) candidates.push({ path: p, label: p });
    }
  }
  if (candidates.length === 0) return { reachable: false, why: "DOCKER_HOST unset and no docker.sock found" };
  for (const c of candidates) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = c.path
        ? netConnect({ path: c.path })
        : netConnect({ host: c.host ?? "", port: c.port ?? 2375 });
      const done = (v: boolean): void => {
        s.destroy();
        resolve(v);
      };
      s.setTimeout(1000, () => done(false));
      s.once("connect", () => done(true));
      s.once("error", () => done(false));
    });
    if (ok) return { reachable: true, why: c.label };
  }
  return { reachable: false, why: `no answer from ${candidates.map((c) => c.label).join(", ")}` };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}

async function startContainer(
  storeDir: string,
  image: string,
  removeDir: () => Promise<void>,
): Promise<TestNatsServer> {
  const { NatsContainer } = await import("@testcontainers/nats");
  const port = await freePort();
  const launch = () =>
    new NatsContainer(image)
      .withJetStream()
      .withArg("-sd", "/data")
      .withArg("-n", "esper")
      .withBindMounts([{ source: storeDir, target: "/data" }])
      .withExposedPorts({ container: 4222, host: port })
      .start();
  let container = await launch();
  const { username: user, password } = container;
  if (user === undefined || password === undefined)
    throw new Error("NATS container started without credentials");
  const host = container.getHost();
  const url = `nats://${host}:${port}`;
  let stopped = false;
  let running = true;
  const halt = async (timeout: number): Promise<void> => {
    if (!running) return;
    running = false;
    await container.stop({ timeout });
  };
  return {
    kind: "container",
    url,
    port,
    storeDir,
    address: { servers: url, user, pass: password },
    async stop() {
      if (stopped) return;
      stopped = true;
      await halt(10_000);
      await removeDir();
    },
    kill: () => halt(0),
    async restart() {
      await halt(0);
      container = await launch();
      running = true;
    },
  };
}
