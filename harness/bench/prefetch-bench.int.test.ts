import { describe, expect, it } from "vitest";
import { benchPrefetch } from "./prefetch-bench.ts";

describe("benchPrefetch (own nats-server, real Urza and onnxruntime)", () => {
  it("answers every request ready; first requests are cold fetches, repeats are cache hits", async () => {
    const requests = 2 * 30;
    const report = await benchPrefetch({ requests, concurrency: 3 });
    expect(report.errors).toBe(0);
    expect(report.latencyMs.n).toBe(requests);
    const cold = Math.min(requests, report.blueprints);
    expect(report.coldMs.n).toBe(cold);
    expect(report.coldMs.n + report.hitMs.n).toBe(requests);
    expect(report.cache).toEqual({
      hit: requests - cold,
      miss: cold,
      wait: 0,
      hitRatio: Number(((requests - cold) / requests).toFixed(4)),
    });
    expect(report.latencyMs.p95).toBeGreaterThanOrEqual(report.latencyMs.p50);
  }, 60_000);
});
