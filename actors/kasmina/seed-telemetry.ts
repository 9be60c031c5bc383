import {
  HealthStatus,
  MessagePriority,
  SeedLifecycleStage as S,
  TelemetryLevel,
} from "../../contracts/enums.ts";
import type { MetricPoint, TelemetryPacket } from "../../contracts/messages/telemetry.ts";
import type { GateId } from "./gates.ts";
import type { SeedView } from "./seed-controller.ts";
import { stageName } from "./stages.ts";

/** Process-wide counters the global packet carries (since this Kasmina started). */
export interface KasminaCounters {
  readonly gateFailures: Readonly<Record<GateId, number>>;
  readonly culled: number;
  /** The latest prefetch's request → answer (or timeout) time, if any. */
  readonly lastPrefetchMs?: number | undefined;
}

const LIVE: ReadonlySet<number> = new Set([
  S.GERMINATED,
  S.TRAINING,
  S.BLENDING,
  S.SHADOWING,
  S.PROBATIONARY,
]);

/**
 * The packet of one seed for reporting interval `n` (`packetId` `kasmina-seed-<seedId>-<n>`): metrics
 * `kasmina.seed.stage` (the stage code), `.alpha`, `.kernel_attached`, `.reports`, the latest report's
 * `.isolation_leak`, `.gradient_norm`, `.host_gradient_norm`, `.loss_delta`, and for a live plan
 * `kasmina.blend.alpha_mean`, `.alpha_p95`, `.sparsity` (attribute `mode`); every metric carries
 * `seed_id`, `slot_id`, `stage`, `trainingRunId`. Health: UNHEALTHY when the latest report leaks past
 * `isolationLeakMax` or has non-finite gradients, else HEALTHY.
 */
export function seedPacket(
  view: SeedView,
  n: number,
  run: string,
  nowMs: number,
  isolationLeakMax: number,
): TelemetryPacket {
  const attributes = {
    seed_id: view.seedId,
    slot_id: view.slotId,
    stage: stageName(view.stage),
    trainingRunId: run,
  };
  const m = (name: string, value: number, extra: Record<string, string> = {}): MetricPoint => ({
    name,
    value,
    attributes: { ...attributes, ...extra },
  });
  const metrics: MetricPoint[] = [
    m("kasmina.seed.stage", view.stage),
    m("kasmina.seed.alpha", view.alpha),
    m("kasmina.seed.kernel_attached", view.kernelAttached ? 1 : 0),
    m("kasmina.seed.reports", view.reports),
  ];
  const r = view.lastReport;
  if (r !== undefined) {
    metrics.push(
      m("kasmina.seed.isolation_leak", r.isolationLeak),
      m("kasmina.seed.gradient_norm", r.seedGradientNorm),
      m("kasmina.seed.host_gradient_norm", r.hostGradientNorm),
      m("kasmina.seed.loss_delta", r.lossDelta),
    );
  }
  const b = view.blend;
  if (b !== undefined) {
    metrics.push(
      m("kasmina.blend.alpha_mean", b.alphaMean, { mode: b.mode }),
      m("kasmina.blend.alpha_p95", b.alphaP95, { mode: b.mode }),
      m("kasmina.blend.sparsity", b.sparsity, { mode: b.mode }),
    );
  }
  const unhealthy = r !== undefined && (r.nonFiniteGradients || r.isolationLeak > isolationLeakMax);
  return {
    packetId: `kasmina-seed-${view.seedId}-${n}`,
    timestampMs: nowMs,
    sourceSubsystem: "kasmina",
    level: TelemetryLevel.INFO,
    priority: MessagePriority.NORMAL,
    metrics,
    events: [],
    spans: [],
    systemHealth: unhealthy
      ? {
          status: HealthStatus.UNHEALTHY,
          summary: `seed ${view.seedId}: report ${r.reportId} leaks ${r.isolationLeak} or has non-finite gradients`,
        }
      : { status: HealthStatus.HEALTHY, summary: "nominal" },
  };
}

/**
 * The global packet for interval `n` (`packetId` `kasmina-global-<n>`): `kasmina.seeds.active`
 * (GERMINATED..PROBATIONARY), `.fossilized`, `.embargoed`, `.culled`, `kasmina.gates.failures` per gate
 * (attribute `gate`) and `kasmina.prefetch.latency_ms` of the latest prefetch, all with `trainingRunId`.
 */
export function globalPacket(
  views: readonly SeedView[],
  counters: KasminaCounters,
  n: number,
  run: string,
  nowMs: number,
): TelemetryPacket {
  const attributes = { trainingRunId: run };
  const count = (pred: (v: SeedView) => boolean) => views.filter(pred).length;
  const metrics: MetricPoint[] = [
    { name: "kasmina.seeds.active", value: count((v) => LIVE.has(v.stage)), attributes },
    { name: "kasmina.seeds.fossilized", value: count((v) => v.stage === S.FOSSILIZED), attributes },
    { name: "kasmina.seeds.embargoed", value: count((v) => v.stage === S.EMBARGOED), attributes },
    { name: "kasmina.seeds.culled", value: counters.culled, attributes },
    ...Object.entries(counters.gateFailures).map(([gate, value]) => ({
      name: "kasmina.gates.failures",
      value,
      attributes: { ...attributes, gate },
    })),
  ];
  if (counters.lastPrefetchMs !== undefined) {
    metrics.push({
      name: "kasmina.prefetch.latency_ms",
      value: counters.lastPrefetchMs,
      unit: "ms",
      attributes,
    });
  }
  return {
    packetId: `kasmina-global-${n}`,
    timestampMs: nowMs,
    sourceSubsystem: "kasmina",
    level: TelemetryLevel.INFO,
    priority: MessagePriority.NORMAL,
    metrics,
    events: [],
    spans: [],
  };
}
