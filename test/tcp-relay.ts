import { createServer, connect as netConnect, type Socket } from "node:net";

/** A TCP relay to a NATS server whose connections a test can black out, cut and refuse while the server stays up. */
export interface TcpRelay {
  /** `nats://` URL of the relay. */
  readonly url: string;
  /**
   * Drops the server→client bytes of every connection relayed now (the server keeps sending, the
   * client hears nothing, neither side sees the connection end); later connections are relayed whole.
   */
  blackout(): void;
  /** Drops every relayed connection and refuses new ones until {@link heal}. */
  cut(): void;
  /** Accepts and relays new connections again. */
  heal(): void;
  /** Relays new connections to the NATS server at `serverUrl` from now on (a server without the test's resources). */
  retarget(serverUrl: string): void;
  close(): Promise<void>;
}

/** Starts a relay on an ephemeral port of 127.0.0.1 to the NATS server at `serverUrl`. */
export async function relayTo(serverUrl: string): Promise<TcpRelay> {
  let target = new URL(serverUrl);
  const sockets = new Set<Socket>();
  const blackedOut = new WeakSet<Socket>();
  let open = true;
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on("error", () => s.destroy());
    s.on("close", () => sockets.delete(s));
  };
  const server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = netConnect({ host: target.hostname, port: Number(target.port) });
    track(client);
    track(upstream);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.pipe(upstream);
    upstream.on("data", (bytes: Buffer) => {
      if (!blackedOut.has(upstream)) client.write(bytes);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the relay has no TCP port");
  return {
    url: `nats://127.0.0.1:${address.port}`,
    blackout() {
      for (const s of sockets) blackedOut.add(s);
    },
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    heal() {
      open = true;
    },
    retarget(url) {
      target = new URL(url);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
