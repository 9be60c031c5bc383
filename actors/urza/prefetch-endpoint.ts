import { performance } from "node:perf_hooks";
import type { KernelPrefetchRequest, KernelPrefetchResult } from "../../contracts/index.ts";
import type { ActorContext } from "../runtime/actor-types.ts";
import { answerPrefetch, type PrefetchDeps } from "./prefetch.ts";

/**
 * Answers one prefetch request with {@link answerPrefetch} and records its telemetry: the metric
 * `urza.prefetch.latency_ms` (attributes `status`, and `code` on an error) for every answer, a
 * WARNING event `urza.prefetch.artifact_error` with the code and reason for a KernelArtifactError,
 * and `ctx.reportError("prefetch", …)` when the catalog or store itself fails (the error is rethrown,
 * so the requester gets a bus error instead of a reply).
 */
export async function answerPrefetchWithTelemetry(
  req: KernelPrefetchRequest,
  deps: PrefetchDeps,
  ctx: Pick<ActorContext, "telemetry" | "reportError">,
): Promise<KernelPrefetchResult> {
  const start = performance.now();
  let result: KernelPrefetchResult;
  try {
    result = await answerPrefetch(req, deps);
  } catch (err) {
    ctx.reportError("prefetch", err);
    throw err;
  }
  const latencyMs = performance.now() - start;
  if (result.status === "ready") {
    ctx.telemetry.metric("urza.prefetch.latency_ms", latencyMs, {
      unit: "ms",
      attributes: { status: "ready" },
    });
  } else {
    ctx.telemetry.metric("urza.prefetch.latency_ms", latencyMs, {
      unit: "ms",
      attributes: { status: "error", code: result.code },
    });
    ctx.telemetry.event("urza.prefetch.artifact_error", {
      level: "WARNING",
      description: result.reason.slice(0, 4096),
      attributes: { code: result.code, blueprint_id: result.blueprintId, request_id: result.requestId },
    });
  }
  return result;
}
