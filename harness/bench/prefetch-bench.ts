import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startActor } from "../../actors/runtime/actor.ts";
import { bootstrapSettings } from "../../actors/runtime/settings-bootstrap.ts";
import { buildLibrary, libraryConfigs } from "../../actors/urza/library.ts";
import { actor as urza } from "../../actors/urza/main.ts";
import { connectBus } from "../../bus/connection.ts";
import { ensureResources } from "../../bus/jetstream/ensure.ts";
import { startLocalNatsServer } from "../../bus/server/local-nats-server.ts";
import { request, subscribe } from "../../bus/typed.ts";
import { round, summarize } from "./stats.ts";

/** Options of {@link benchPrefetch}. */
export interface PrefetchBenchOptions {
  readonly requests: number;
  readonly concurrency: number;
}

/** Latency figures in ms. */
export interface LatencyFigures {
  readonly n: number;
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

/** What `esper bench prefetch` prints. */
export interface PrefetchBenchReport {
  readonly bench: "prefetch";
  readonly requests: number;
  readonly concurrency: number;
  readonly blueprints: number;
  /** Request sent → KernelArtifactReady received over the bus, every request. */
  readonly latencyMs: LatencyFigures;
  /** The first phase, one request per blueprint: cold fetches (object store read, sha256, ORT prewarm). */
  readonly coldMs: LatencyFigures;
  /** The second phase, after every kernel is cached: cache hits. */
  readonly hitMs: LatencyFigures;
  /** How Urza's cache served the answers, counted by Urza (`urza.prefetch.latency_ms` attribute `cache`). */
  readonly cache: {
    readonly hit: number;
    readonly miss: number;
    readonly wait: number;
    readonly hitRatio: number;
  };
  readonly errors: number;
  readonly wallMs: number;
}

function figures(samples: number[]): LatencyFigures {
  if (samples.length === 0) return { n: 0, mean: 0, p50: 0, p95: 0, p99: 0 };
  const s = summarize(samples);
  return { n: s.n, mean: round(s.mean, 3), p50: round(s.p50, 3), p95: round(s.p95, 3), p99: round(s.p99, 3) };
}

/**
 * Starts a private nats-server and Urza in this process (the library published, as at its start),
 * then sends `requests` prefetch requests over the bus round-robin over the catalogued blueprints, at
 * most `concurrency` at once: the real path (catalog bucket, object store, sha256, ORT prewarm) behind
 * Urza's kernel cache. Two phases: first one request per blueprint (cold fetches), then the rest (cache
 * hits, once every kernel is cached); the cache outcomes Urza counted come from its telemetry.
 */
export async function benchPrefetch(opts: PrefetchBenchOptions): Promise<PrefetchBenchReport> {
  const storeDir = await mkdtemp(join(tmpdir(), "esper-bench-prefetch-"));
  const server = await startLocalNatsServer({ storeDir });
  const namespace = "benchprefetch";
  const bus = await connectBus({ name: "bench-prefetch", namespace, servers: server.url });
  await ensureResources(bus);
  await bootstrapSettings(bus, {});
  const outcomes = { hit: 0, miss: 0, wait: 0, uncached: 0 };
  const telemetry = subscribe(
    bus,
    "telemetryRaw",
    (packet) => {
      for (const m of packet.metrics) {
        const cache = m.attributes?.cache;
        if (m.name === "urza.prefetch.latency_ms" && cache !== undefined && cache in outcomes) {
          outcomes[cache as keyof typeof outcomes]++;
        }
      }
    },
    { params: { actor: "urza" } },
  );
  await bus.nc.flush();
  const handle = startActor(urza, {
    env: {
      ESPER_NAMESPACE: namespace,
      ESPER_NATS_URL: server.url,
      ESPER_RUN_ID: "bench-prefetch",
      ESPER_LOG_LEVEL: "warn",
      ESPER_LOG_PRETTY: "0",
    },
    handleSignals: false,
  });
  try {
    while (handle.lifecycle.state !== "running") {
      if (handle.lifecycle.state === "failed" || handle.lifecycle.state === "stopped") {
        throw new Error(`urza did not start: ${handle.lifecycle.state}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const ids = buildLibrary(libraryConfigs(), 0).map((e) => e.descriptor.blueprintId);
    const all: number[] = [];
    const cold: number[] = [];
    const hits: number[] = [];
    let errors = 0;
    let next = 0;
    const started = performance.now();
    /** Sends requests `from`..`to` (round-robin over the blueprints), at most `concurrency` at once, into `into`. */
    const phase = async (to: number, into: number[]): Promise<void> => {
      const worker = async (): Promise<void> => {
        while (next < to) {
          const blueprintId = ids[next % ids.length] as string;
          next++;
          const t0 = performance.now();
          const reply = await request(
            bus,
            "urzaPrefetch",
            { requestId: randomUUID(), blueprintId, trainingRunId: "bench-prefetch", issuedAt: Date.now() },
            { timeoutMs: 30_000 },
          );
          const ms = performance.now() - t0;
          if (reply.status !== "ready") {
            errors++;
            continue;
          }
          all.push(ms);
          into.push(ms);
        }
      };
      await Promise.all(Array.from({ length: opts.concurrency }, worker));
    };
    await phase(Math.min(opts.requests, ids.length), cold);
    await phase(opts.requests, hits);
    const wallMs = Math.round(performance.now() - started);
    handle.drain("bench done");
    await handle.done;
    const answered = () => outcomes.hit + outcomes.miss + outcomes.wait + outcomes.uncached;
    const deadline = Date.now() + 10_000;
    while (answered() < opts.requests) {
      if (Date.now() > deadline)
        throw new Error(`urza's telemetry told ${answered()} of ${opts.requests} answers`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return {
      bench: "prefetch",
      requests: opts.requests,
      concurrency: opts.concurrency,
      blueprints: ids.length,
      latencyMs: figures(all),
      coldMs: figures(cold),
      hitMs: figures(hits),
      cache: {
        hit: outcomes.hit,
        miss: outcomes.miss,
        wait: outcomes.wait,
        hitRatio: round(outcomes.hit / answered(), 4),
      },
      errors,
      wallMs,
    };
  } finally {
    handle.drain("bench done");
    await handle.done;
    await telemetry.stop();
    await bus.close();
    await server.stop();
    await rm(storeDir, { recursive: true, force: true });
  }
}
