import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { createServer, connect as netConnect } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import type { BusAddress } from "../bus/connection.ts";
import { findExecutable } from "../bus/server/executable-path.ts";
import { type LocalNatsServer, startLocalNatsServer } from "../bus/server/local-nats-server.ts";
import {
  chooseNatsServer,
  type NatsServerChoice,
  type NatsServerKind,
  type NatsServerProbes,
  NoNatsServerError,
  TEST_NATS_ENV,
  TEST_NATS_IMAGE_ENV,
  testNatsImage,
} from "./nats-server-choice.ts";

/** Options of {@link startNatsServer}. */
export interface TestNatsServerOptions {
  /** Store directory to use (kept on stop); default a fresh temp directory, removed by `stop()`. */
  readonly storeDir?: string;
  /** Container image when a container is chosen; default `ESPER_TEST_NATS_IMAGE`, else `nats:2.9.10-alpine`. */
  readonly image?: string;
}

/** A nats-server with JetStream for one test file: ephemeral port, own store directory. */
export interface TestNatsServer {
  /** Which kind of server runs: the local binary or a testcontainers container. */
  readonly kind: NatsServerKind;
  /** Why that kind was chosen (`ESPER_TEST_NATS`, the default, or an image already present). */
  readonly why: string;
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

let announced = false;

/**
 * Starts a real nats-server with JetStream on an ephemeral port with its own store directory, of the
 * kind {@link chooseNatsServer} picks from `ESPER_TEST_NATS` (default: the local binary; a container
 * only when asked for, or when the binary is missing and the Docker engine already holds the image).
 * Says once per process on stderr which kind it chose and why. Throws `NoNatsServerError` (naming the
 * Debian package `nats-server`) when no allowed kind is available.
 */
export async function startNatsServer(opts: TestNatsServerOptions = {}): Promise<TestNatsServer> {
  const image = testNatsImage(opts.image, process.env[TEST_NATS_IMAGE_ENV]);
  const choice = await chooseNatsServer(process.env[TEST_NATS_ENV], image, machineProbes);
  if (!announced) {
    announced = true;
    process.stderr.write(`test nats-server: ${choice.kind} ${choice.target} (${choice.why})\n`);
  }
  const ownDir = opts.storeDir === undefined;
  const storeDir = opts.storeDir ?? (await mkdtemp(join(tmpdir(), "esper-nats-")));
  const removeDir = async (): Promise<void> => {
    if (ownDir) await rm(storeDir, { recursive: true, force: true });
  };
  try {
    if (choice.kind === "container") return await startContainer(storeDir, choice, removeDir);
    return await startBinary(storeDir, choice, removeDir);
  } catch (err) {
    await removeDir();
    throw err;
  }
}

/** The probes of this machine: PATH lookup, the Docker engine socket and its image list. */
const machineProbes: NatsServerProbes = {
  binary: () => findExecutable("nats-server"),
  docker: async () => {
    const socket = await dockerSocket();
    return socket.reachable
      ? { reachable: true, why: socket.candidate.label }
      : { reachable: false, why: socket.why };
  },
  async imagePresent(image) {
    const socket = await dockerSocket();
    if (!socket.reachable) return false;
    return (await dockerGet(socket.candidate, `/images/${encodeURIComponent(image)}/json`)) === 200;
  },
};

async function startBinary(
  storeDir: string,
  choice: NatsServerChoice,
  removeDir: () => Promise<void>,
): Promise<TestNatsServer> {
  const binary = choice.target;
  let server: LocalNatsServer = await startLocalNatsServer({ storeDir, binary });
  const { url, port } = server;
  let stopped = false;
  return {
    kind: "binary",
    why: choice.why,
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
      server = await startLocalNatsServer({ storeDir, port, binary });
    },
  };
}

/** Where a Docker engine may listen: a unix socket path or a TCP host and port. */
interface DockerCandidate {
  readonly path?: string;
  readonly host?: string;
  readonly port?: number;
  readonly label: string;
}

type DockerSocket =
  | { readonly reachable: true; readonly candidate: DockerCandidate }
  | { readonly reachable: false; readonly why: string };

let dockerSocketProbe: Promise<DockerSocket> | undefined;

/** The first Docker engine socket (DOCKER_HOST or the usual paths) that accepts a connection within 1 s; probed once. */
function dockerSocket(): Promise<DockerSocket> {
  dockerSocketProbe ??= probeDockerSocket();
  return dockerSocketProbe;
}

async function probeDockerSocket(): Promise<DockerSocket> {
  const host = process.env.DOCKER_HOST;
  const candidates: DockerCandidate[] = [];
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
    if (ok) return { reachable: true, candidate: c };
  }
  return { reachable: false, why: `no answer from ${candidates.map((c) => c.label).join(", ")}` };
}

/** The HTTP status of a GET on the Docker engine API, or 0 when it does not answer within 1 s. */
function dockerGet(c: DockerCandidate, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest(
      {
        ...(c.path !== undefined ? { socketPath: c.path } : { host: c.host, port: c.port }),
        path,
        method: "GET",
        timeout: 1000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.once("timeout", () => {
      req.destroy();
      resolve(0);
    });
    req.once("error", () => resolve(0));
    req.end();
  });
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

/**
 * Why a container did not start, with what would fix it: the engine lacks `image` (and could not pull
 * it), or testcontainers' reaper (testcontainers/ryuk, started first) could not be pulled. The
 * original error is the cause.
 */
async function containerStartError(error: unknown, image: string): Promise<Error> {
  const why = error instanceof Error ? error.message : String(error);
  if (!(await machineProbes.imagePresent(image))) {
    return new NoNatsServerError(
      `the Docker engine does not hold ${image} and starting it failed (${why}): on a machine without a ` +
        `registry, \`esper drill compose\` builds the stand-in esper-standin-nats:<tag> (its report names ` +
        `it); set ${TEST_NATS_IMAGE_ENV} to it`,
      { cause: error },
    );
  }
  if (process.env.TESTCONTAINERS_RYUK_DISABLED !== "true") {
    return new NoNatsServerError(
      `the NATS container did not start (${why}); testcontainers first starts its reaper ` +
        "(testcontainers/ryuk), which an engine without a registry cannot pull: set " +
        "TESTCONTAINERS_RYUK_DISABLED=true (the helper's stop() then removes the container)",
      { cause: error },
    );
  }
  return error instanceof Error ? error : new Error(why);
}

async function startContainer(
  storeDir: string,
  choice: NatsServerChoice,
  removeDir: () => Promise<void>,
): Promise<TestNatsServer> {
  const image = choice.target;
  const { NatsContainer } = await import("@testcontainers/nats");
  const port = await freePort();
  const launch = () =>
    new NatsContainer(image)
      .withJetStream()
      .withArg("-sd", "/data")
      .withArg("-n", "esper")
      .withBindMounts([{ source: storeDir, target: "/data" }])
      .withExposedPorts({ container: 4222, host: port })
      .start()
      .catch(async (error: unknown) => {
        throw await containerStartError(error, image);
      });
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
    why: choice.why,
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
