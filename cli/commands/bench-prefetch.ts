import { parseArgs } from "node:util";
import { benchPrefetch } from "../../harness/bench/prefetch-bench.ts";

const HELP = `usage: esper bench prefetch [--requests N] [--concurrency C] [--json]
Starts a private nats-server and Urza in this process and sends N prefetch requests (default 300), at
most C at once (default 6), round-robin over the catalogued blueprints: the real path (catalog bucket,
kernels object store, sha256, onnxruntime prewarm) behind Urza's kernel cache. Prints one JSON report:
request → ready latency (mean, p50/p95/p99) overall, of cold fetches (each blueprint's first request)
and of cache hits (the later ones), the cache outcomes Urza counted (hit, miss, wait, hitRatio),
errors, wall time.
Exit code 1 when any request failed.`;

function count(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be an integer >= 1, got '${value}'`);
  return n;
}

/** `esper bench prefetch`: Urza's prefetch path over the bus, timed; prints JSON. */
export async function run(args: readonly string[]): Promise<number> {
  let requests: number;
  let concurrency: number;
  try {
    const { values } = parseArgs({
      args: [...args],
      options: {
        requests: { type: "string" },
        concurrency: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    requests = count("requests", values.requests, 300);
    concurrency = count("concurrency", values.concurrency, 6);
  } catch (error) {
    process.stderr.write(`esper bench prefetch: ${(error as Error).message}\n${HELP}\n`);
    return 2;
  }
  const report = await benchPrefetch({ requests, concurrency });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return report.errors === 0 ? 0 : 1;
}
