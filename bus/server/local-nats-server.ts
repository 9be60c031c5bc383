import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { findExecutable } from "./executable-path.ts";

/** Options of {@link startLocalNatsServer}. */
export interface LocalNatsServerOptions {
  /** JetStream store directory (`-sd`); created when missing. */
  readonly storeDir: string;
  /** Client port; omitted or 0 lets the server pick a free one (`-p -1`). */
  readonly port?: number;
  /** Listen address; default `127.0.0.1`. */
  readonly host?: string;
  /** Server name (`-n`), kept across restarts so JetStream finds its store; default `esper`. */
  readonly serverName?: string;
  /** The nats-server executable; default `nats-server` from PATH. */
  readonly binary?: string;
  /** How long to wait for "Server is ready"; default 10 s. */
  readonly readyTimeoutMs?: number;
  /**
   * Start the server in its own process group, so a terminal's Ctrl-C reaches only its owner, which
   * stops it after the clients have drained; default false.
   */
  readonly detached?: boolean;
  /**
   * Extra configuration appended to the generated file, e.g. the `authorization` block of
   * `authorizationConfig` (permissions.ts); default none (anonymous clients may do anything).
   */
  readonly extraConfig?: string;
  /** Variables added to the server's environment (the passwords the configuration refers to as `$NAME`). */
  readonly env?: Readonly<Record<string, string>>;
}

/** A nats-server child process with JetStream, accepting clients on `url`. */
export interface LocalNatsServer {
  /** `nats://host:port`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly storeDir: string;
  readonly pid: number;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** Graceful stop (SIGTERM); resolves when the process has exited. */
  stop(): Promise<void>;
  /** Hard kill (SIGKILL), as in a crash; resolves when the process has exited. */
  kill(): Promise<void>;
}

/** The nats-server executable is missing or could not be started. */
export class NatsServerStartError extends Error {
  override readonly name = "NatsServerStartError";
}

/** The JetStream file-store reservation limit of servers started here (1 TiB). */
const MAX_FILE_STORE_BYTES = 1024 ** 4;

const LISTEN = /Listening for client connections on ([^\s:]+):(\d+)/;
const READY = /Server is ready/;

/**
 * Spawns `nats-server -c <storeDir>/nats-server.conf -js -sd <storeDir> -p <port|-1> -a <host> -n <name>`
 * (the config sets JetStream's `max_file_store` to 1 TiB, then `extraConfig`) and resolves once the
 * server logs that it is ready. Rejects with {@link NatsServerStartError} when the binary is missing
 * (naming the Debian package `nats-server`), and (with the server's last output) when it exits early
 * or is not ready within the timeout.
 */
export async function startLocalNatsServer(opts: LocalNatsServerOptions): Promise<LocalNatsServer> {
  const host = opts.host ?? "127.0.0.1";
  const binary = opts.binary ?? "nats-server";
  const timeoutMs = opts.readyTimeoutMs ?? 10_000;
  if (findExecutable(binary) === undefined) {
    throw new NatsServerStartError(
      `${binary} not found${binary.includes("/") ? "" : " on PATH"}: install the Debian package nats-server (apt-get install nats-server)`,
    );
  }
  await mkdir(opts.storeDir, { recursive: true });
  // JetStream reserves every stream's declared max_bytes against max_file_store, which defaults to
  // 75% of the free disk: a namespace declares about 8 GiB of caps, so a few namespaces (tests, runs
  // sharing a server) would be refused on a small disk although they store little. The caps stay.
  const config = join(opts.storeDir, "nats-server.conf");
  await writeFile(config, `jetstream { max_file_store: ${MAX_FILE_STORE_BYTES} }\n${opts.extraConfig ?? ""}`);
  const args = [
    "-c",
    config,
    "-js",
    "-sd",
    opts.storeDir,
    "-p",
    String(opts.port || -1),
    "-a",
    host,
    "-n",
    opts.serverName ?? "esper",
  ];
  const child = spawn(binary, args, {
    stdio: ["ignore", "ignore", "pipe"],
    detached: opts.detached === true,
    ...(opts.env !== undefined ? { env: { ...process.env, ...opts.env } } : {}),
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  const port = await waitReady(child, binary, args, timeoutMs);
  const pid = child.pid;
  if (pid === undefined) throw new NatsServerStartError(`${binary} started without a pid`);
  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return {
    url: `nats://${host}:${port}`,
    host,
    port,
    storeDir: opts.storeDir,
    pid,
    exited,
    stop: () => terminate("SIGTERM"),
    kill: () => terminate("SIGKILL"),
  };
}

function waitReady(child: ChildProcess, binary: string, args: string[], timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = "";
    let port: number | undefined;
    const fail = (why: string): void => {
      cleanup();
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      const tail = output.trim().split("\n").slice(-8).join("\n");
      reject(new NatsServerStartError(`${binary} ${args.join(" ")}: ${why}${tail ? `\n${tail}` : ""}`));
    };
    const onData = (chunk: Buffer): void => {
      output += chunk.toString("utf8");
      if (output.length > 64_000) output = output.slice(-16_000);
      const listen = LISTEN.exec(output);
      if (listen?.[2]) port = Number(listen[2]);
      if (port !== undefined && READY.test(output)) {
        cleanup();
        // Keep draining stderr so the server never blocks on a full pipe.
        child.stderr?.on("data", () => {});
        resolve(port);
      }
    };
    const onError = (err: Error): void => fail(`cannot start: ${err.message}`);
    const onExit = (code: number | null, signal: string | null): void =>
      fail(`exited before it was ready (${code ?? signal})`);
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stderr?.off("data", onData);
      child.off("error", onError);
      child.off("exit", onExit);
    };
    child.stderr?.on("data", onData);
    child.once("error", onError);
    child.once("exit", onExit);
  });
}
