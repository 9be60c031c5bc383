import type { BusConnection } from "../../bus/connection.ts";
import type { RecordSummary } from "../../bus/recording/recorder.ts";
import type { RunDirectory } from "./run-directory.ts";
import type { RunEvent } from "./run-events.ts";
import { type RunEnd, RunSummaryBuilder } from "./run-summary.ts";
import type { RunSummary } from "./summary-schema.ts";

export interface RunFollowerOptions {
  readonly bus: BusConnection;
  readonly runId: string;
  readonly directory: RunDirectory;
  readonly startedAtMs: number;
  readonly onEvent: (event: RunEvent) => void;
}
export interface RunFollower {
  finish(end: RunEnd): Promise<{ summary: RunSummary; recording?: RecordSummary }>;
}
export async function followRun(opts: RunFollowerOptions): Promise<RunFollower> {
  const b = new RunSummaryBuilder(opts.runId, opts.startedAtMs);
  return {
    async finish(end) {
      const summary = b.finish(end);
      await opts.directory.writeSummary(summary);
      await opts.directory.close();
      return { summary };
    },
  };
}
