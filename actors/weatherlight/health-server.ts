import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createMetricsExporter, type MetricsSource } from "./health-server-metrics.ts";

/** Where the health server listens and what it reports. */
export interface HealthServerOptions extends MetricsSource {
  /** `--http <port>`; 0 takes a free port. */
  readonly port: number;
  /** Default 127.0.0.1 (this machine only). */
  readonly host?: string;
}

/** A listening health server. */
export interface HealthServer {
  /** `http://<host>:<port>` (the port bound, also when 0 was asked for). */
  readonly url: string;
  readonly port: number;
  /** Stops listening and ends open connections. */
  close(): Promise<void>;
}

/** The health server could not listen (port taken, bad host, …). */
export class HealthServerError extends Error {
  override readonly name = "HealthServerError";
}

/**
 * Starts Weatherlight's HTTP endpoint: `GET /healthz` → the snapshot as JSON, 200 when operational,
 * 503 when degraded; `GET /metrics` → Prometheus text (createMetricsExporter); anything else → 404.
 * A snapshot or scrape that throws answers 500 with the error's message.
 */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const host = options.host ?? "127.0.0.1";
  const metrics = createMetricsExporter(options);
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? "/", "http://health").pathname;
    if (req.method === "GET" && path === "/healthz") {
      const snapshot = options.snapshot();
      const body = JSON.stringify(snapshot);
      res.writeHead(snapshot.mode === "operational" ? 200 : 503, { "content-type": "application/json" });
      res.end(body);
      return;
    }
    if (req.method === "GET" && path === "/metrics") {
      const text = await metrics.render();
      res.writeHead(200, { "content-type": metrics.contentType });
      res.end(text);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end(`not found: ${req.method} ${path} (GET /healthz or /metrics)\n`);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(`health server error: ${(error as Error).message}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void =>
      reject(new HealthServerError(`cannot listen on ${host}:${options.port}: ${error.message}`));
    server.once("error", onError);
    server.listen(options.port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}
