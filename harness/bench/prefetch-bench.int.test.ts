import { describe, expect, it } from "vitest";
import { benchPrefetch } from "./prefetch-bench.ts";

describe("benchPrefetch (own nats-server, real Urza and onnxruntime)", () => {
  it("answers every request ready and splits first requests from repeats", async () => {
    const report = await benchPrefetch({ requests: 30, concurrency: 3 });
    expect(report.errors).toBe(0);
    expect(report.latencyMs.n).toBe(30);
    expect(report.firstPerBlueprintMs.n).toBe(Math.min(30, report.blueprints));
    expect(report.firstPerBlueprintMs.n + report.repeatMs.n).toBe(30);
    expect(report.latencyMs.p95).toBeGreaterThanOrEqual(report.latencyMs.p50);
  }, 60_000);
});
