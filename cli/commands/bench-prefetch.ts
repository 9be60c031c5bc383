import type { Command } from "commander";
import { benchPrefetch } from "../../harness/bench/prefetch-bench.ts";
import { helpFooter, integer, jsonOption } from "../flags.ts";

/** `esper bench prefetch [--requests N] [--concurrency C] [--json]`. */
export function define(cmd: Command): void {
  cmd
    .description(
      "Starts a private nats-server and Urza in this process and sends N prefetch requests, at most C at " +
        "once, round-robin over the catalogued blueprints: the real path (catalog bucket, kernels object " +
        "store, sha256, onnxruntime prewarm) behind Urza's kernel cache. Prints one JSON report: request → " +
        "ready latency (mean, p50/p95/p99) overall, of cold fetches (each blueprint's first request) and of " +
        "cache hits (the later ones), the cache outcomes Urza counted (hit, miss, wait, hitRatio), errors, " +
        "wall time.",
    )
    .option("--requests <n>", "prefetch requests", integer(1), 300)
    .option("--concurrency <c>", "requests at once", integer(1), 6)
    .addOption(jsonOption());
  helpFooter(cmd, { exitCodes: { 0: "every request succeeded", 1: "a request failed", 2: "bad arguments" } });
}

/** `esper bench prefetch`: Urza's prefetch path over the bus, timed; prints JSON. */
export async function action(cmd: Command): Promise<number> {
  const { requests, concurrency } = cmd.opts<{ requests: number; concurrency: number }>();
  const report = await benchPrefetch({ requests, concurrency });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return report.errors === 0 ? 0 : 1;
}
