import type { Mailbox } from "./mailbox.ts";
import type { TaskQueue } from "./task-queue.ts";
import type { TelemetryEmitter } from "./telemetry.ts";

/**
 * Records the runtime's own metrics into `telemetry`: `<actor>.worker.<counter>` for the TaskQueue
 * (submitted, completed, failed, cancelled, timed_out, rejected, in_flight, zombies, queue_depth,
 * latency_p50_ms/p95/p99) and `<actor>.mailbox.<name>.<counter>` for each mailbox (depth, in_flight,
 * handled, failed, dropped, dropped_closed, aborted_at_drain, latency_p95_ms), and
 * `<actor>.telemetry.publish_failures` for the emitter itself.
 */
export function recordRuntimeMetrics(
  telemetry: TelemetryEmitter,
  worker: TaskQueue | undefined,
  mailboxes: Iterable<{ readonly box: Mailbox<never> }>,
): void {
  const a = telemetry.actor;
  telemetry.metric(`${a}.telemetry.publish_failures`, telemetry.emitterStats().publishFailures);
  if (worker) {
    const m = worker.metrics();
    const gauges: Record<string, number> = {
      submitted: m.submitted,
      completed: m.completed,
      failed: m.failed,
      cancelled: m.cancelled,
      timed_out: m.timedOut,
      rejected: m.rejected,
      in_flight: m.inFlight,
      zombies: m.zombies,
      queue_depth: m.queueDepth,
      latency_p50_ms: m.latency.p50,
      latency_p95_ms: m.latency.p95,
      latency_p99_ms: m.latency.p99,
    };
    for (const [k, v] of Object.entries(gauges)) telemetry.metric(`${a}.worker.${k}`, v);
  }
  for (const { box } of mailboxes) {
    const m = box.metrics();
    telemetry.metric(`${a}.mailbox.${m.name}.depth`, m.depth);
    telemetry.metric(`${a}.mailbox.${m.name}.in_flight`, m.inFlight);
    telemetry.metric(`${a}.mailbox.${m.name}.handled`, m.handled);
    telemetry.metric(`${a}.mailbox.${m.name}.failed`, m.failed);
    telemetry.metric(`${a}.mailbox.${m.name}.dropped`, m.dropped);
    telemetry.metric(`${a}.mailbox.${m.name}.dropped_closed`, m.droppedClosed);
    telemetry.metric(`${a}.mailbox.${m.name}.aborted_at_drain`, m.abortedAtDrain);
    telemetry.metric(`${a}.mailbox.${m.name}.latency_p95_ms`, m.latency.p95, { unit: "ms" });
  }
}

/**
 * Summarises mailbox drops: at each call, one WARNING event `<actor>.mailbox.dropped` per mailbox
 * that dropped messages since the previous call (never one event per message), with the counts
 * since then and in total. Returns the total dropped across mailboxes.
 */
export class DropReporter {
  private readonly reported = new Map<string, number>();

  report(telemetry: TelemetryEmitter, mailboxes: Iterable<{ readonly box: Mailbox<never> }>): number {
    let total = 0;
    for (const { box } of mailboxes) {
      const m = box.metrics();
      const dropped = m.dropped + m.droppedClosed;
      total += dropped;
      const before = this.reported.get(m.name) ?? 0;
      if (dropped === before) continue;
      this.reported.set(m.name, dropped);
      telemetry.event(`${telemetry.actor}.mailbox.dropped`, {
        level: "WARNING",
        description: `mailbox ${m.name} dropped ${dropped - before} message(s) (${dropped} in total): full ${m.dropped}, after close ${m.droppedClosed}`,
        attributes: {
          mailbox: m.name,
          dropped: String(dropped - before),
          dropped_total: String(dropped),
          full: String(m.dropped),
          closed: String(m.droppedClosed),
        },
      });
    }
    return total;
  }
}
