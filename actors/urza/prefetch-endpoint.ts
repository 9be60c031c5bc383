import { performance } from "node:perf_hooks";
import type { KernelPrefetchRequest, KernelPrefetchResult } from "../../contracts/index.ts";
import type { ActorContext } from "../runtime/actor-types.ts";
import { answerPrefetch, type PrefetchDeps } from "./prefetch.ts";

/**
 * Answers one prefetch request with {@link answerPrefetch} and records its telemetry: the metric
 * `urza.prefetch.latency_ms` (attributes `status`, `cache` = hit/miss/wait/uncached, and `code` on an
 * error) and the cache's `urza.cache.hit_ratio` for every answer; `urza.cache.bytes`, `urza.cache.entries`
 * and `urza.cache.evictions` for an answer that loaded (`miss`: only a load stores or evicts, so a hit
 * leaves them as last recorded); `urza.cache.lock_wait_ms` for a request that waited for another's load of
 * the same kernel, and a WARNING `urza.cache.lock_wait` when that wait exceeded `urza.lockWaitWarnMs`;
 * a WARNING event `urza.prefetch.artifact_error` with the code and reason for a KernelArtifactError;
 * `ctx.reportError("prefetch", …)` when the catalog or store itself fails (the error is rethrown, so the
 * requester gets a bus error instead of a reply).
 */
export async function answerPrefetchWithTelemetry(
  req: KernelPrefetchRequest,
  deps: PrefetchDeps,
  ctx: Pick<ActorContext, "telemetry" | "reportError" | "settings">,
): Promise<KernelPrefetchResult> {
  const start = performance.now();
  let answer: Awaited<ReturnType<typeof answerPrefetch>>;
  try {
    answer = await answerPrefetch(req, deps);
  } catch (err) {
    ctx.reportError("prefetch", err);
    throw err;
  }
  const { result, outcome, lockWaitMs } = answer;
  const latencyMs = performance.now() - start;
  const t = ctx.telemetry;
  t.metric("urza.prefetch.latency_ms", latencyMs, {
    unit: "ms",
    attributes:
      result.status === "ready"
        ? { status: "ready", cache: outcome }
        : { status: "error", cache: outcome, code: result.code },
  });
  const stats = deps.cache.stats();
  t.metric("urza.cache.hit_ratio", stats.hitRatio);
  if (outcome === "miss") {
    t.metric("urza.cache.bytes", stats.bytes, { unit: "bytes" });
    t.metric("urza.cache.entries", stats.entries);
    t.metric("urza.cache.evictions", stats.evictions);
  }
  if (outcome === "wait") {
    t.metric("urza.cache.lock_wait_ms", lockWaitMs, { unit: "ms" });
    const warnMs = ctx.settings().urza.lockWaitWarnMs;
    if (lockWaitMs > warnMs) {
      t.event("urza.cache.lock_wait", {
        level: "WARNING",
        description: `request ${req.requestId} waited ${lockWaitMs.toFixed(1)} ms (over ${warnMs} ms) for another request's load of blueprint ${req.blueprintId}`,
        attributes: {
          blueprint_id: req.blueprintId,
          request_id: req.requestId,
          wait_ms: lockWaitMs.toFixed(1),
        },
      });
    }
  }
  if (result.status === "error") {
    t.event("urza.prefetch.artifact_error", {
      level: "WARNING",
      description: result.reason.slice(0, 4096),
      attributes: { code: result.code, blueprint_id: result.blueprintId, request_id: result.requestId },
    });
  }
  return result;
}
