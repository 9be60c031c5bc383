import type { FieldReport, SystemStatePacket } from "../../contracts/index.ts";
import {
  applyJournalRecord,
  checkJournalRecord,
  encodeJournalRecord,
  foldJournal,
  type JournalRecord,
  type JournalState,
  type RetentionLimits,
  retainPublished,
  snapshotRecords,
} from "./field-report-journal.ts";
import {
  fieldReportOf,
  type ObservationWindow,
  openWindow,
  reportIdOf,
  stepWindow,
} from "./field-report-window.ts";
import { type WalLoad, WriteAheadLog } from "./wal.ts";

/** How field reports are kept and published. */
export interface FieldReportsOptions {
  /** Epochs each window observes. */
  readonly windowEpochs: number;
  readonly retention: RetentionLimits;
  /** Appended records after which a publish round ({@link FieldReports.publishPending}) compacts the log. */
  readonly compactEveryRecords: number;
  /** Wall-clock milliseconds (window opening, report issue and publish times). */
  readonly now: () => number;
  /**
   * Stores a report durably; resolves once its stream acknowledged it, saying whether the stream already
   * held its id (a duplicate: stored before, by a publish whose record a crash cut off).
   */
  readonly publish: (report: FieldReport) => Promise<{ readonly duplicate: boolean }>;
}

/** A seed command whose window opens. */
export interface IssuedSeedCommand {
  readonly commandId: string;
  readonly seedId: string;
  readonly blueprintId: string;
  readonly policyVersion: string;
}

/** What one publish round did. */
export interface PublishRound {
  readonly published: readonly { readonly report: FieldReport; readonly duplicate: boolean }[];
  readonly failed: readonly { readonly report: FieldReport; readonly error: unknown }[];
}

/**
 * The observation windows of Tamiyo's seed commands and their field reports, kept in a write-ahead
 * log: a window is opened (before its command is published), observed, ended with its report, and
 * the report marked published, each as an fsynced record. Reopening the log resumes the open windows
 * and the reports not yet published; a report already published is never published again (its id is
 * remembered, and its natural id makes the stream drop a re-publish after a crash between the publish
 * and its record). Calls must not overlap (Tamiyo calls it from its ordered evaluate mailbox).
 */
export class FieldReports {
  private appended = 0;

  private constructor(
    private readonly wal: WriteAheadLog,
    private readonly state: JournalState,
    private readonly options: FieldReportsOptions,
  ) {}

  /**
   * Opens the log at `file` (created when absent): a torn tail is dropped and reported in the load; a
   * corrupt record throws naming its offset or index. Windows open longer than the retention age end as
   * ABORTED; the log is then compacted.
   */
  static async open(
    file: string,
    options: FieldReportsOptions,
  ): Promise<{ reports: FieldReports; load: WalLoad }> {
    const { wal, load } = await WriteAheadLog.open(file);
    try {
      const reports = new FieldReports(wal, foldJournal(load.records, file), options);
      await reports.compact();
      return { reports, load };
    } catch (err) {
      await wal.close();
      throw err;
    }
  }

  /** Open windows, oldest first. */
  get openWindows(): readonly ObservationWindow[] {
    return [...this.state.windows.values()];
  }

  /** Reports of ended windows waiting for their publish, oldest first. */
  get pendingReports(): readonly FieldReport[] {
    return [...this.state.pending.values()];
  }

  /** Ids of the published reports still remembered. */
  get publishedReportIds(): readonly string[] {
    return [...this.state.published.keys()];
  }

  /** Bytes of the log file. */
  get logBytes(): number {
    return this.wal.sizeBytes;
  }

  /** Opens the window of a seed command decided on `packet`; written before the command is published. */
  async opened(command: IssuedSeedCommand, packet: SystemStatePacket): Promise<void> {
    if (this.state.windows.has(command.commandId) || this.known(reportIdOf(command.commandId))) {
      throw new Error(`command ${command.commandId} already has a field-report window`);
    }
    const window = openWindow(command, packet, this.options.windowEpochs, this.options.now());
    await this.record({ kind: "opened", window });
  }

  /** Drops the window of a command whose publish failed. */
  async withdrawn(commandId: string, reason: string): Promise<void> {
    await this.record({ kind: "withdrawn", commandId, reason });
  }

  /**
   * Applies a packet to every open window of its run: an observation record per window it changes; a
   * window it ends becomes its report (an `ended` record), to be published by {@link publishPending}.
   * The packet's records go to the log in one fsynced write.
   */
  async observe(packet: SystemStatePacket, decisionLatencyMs: number): Promise<void> {
    const records: JournalRecord[] = [];
    for (const window of this.openWindows) {
      if (window.trainingRunId !== packet.trainingRunId) continue;
      const step = stepWindow(window, packet, decisionLatencyMs);
      if (step.kind === "unchanged") continue;
      if (step.observation !== undefined) {
        records.push({ kind: "observed", commandId: window.commandId, observation: step.observation });
      }
      if (step.kind === "ended") {
        records.push({ kind: "ended", report: fieldReportOf(step.window, step.end, this.options.now()) });
      }
    }
    await this.record(...records);
  }

  /**
   * Publishes every pending report in log order and records each publish, then compacts the log when
   * `compactEveryRecords` records were appended since the last compaction. A failed publish stays
   * pending (retried by the next round) and is returned; a failed log write throws.
   */
  async publishPending(): Promise<PublishRound> {
    const published: { report: FieldReport; duplicate: boolean }[] = [];
    const failed: { report: FieldReport; error: unknown }[] = [];
    for (const report of this.pendingReports) {
      let duplicate: boolean;
      try {
        ({ duplicate } = await this.options.publish(report));
      } catch (error) {
        failed.push({ report, error });
        continue;
      }
      await this.record({
        kind: "published",
        reportId: report.reportId,
        commandId: report.commandId,
        atMs: this.options.now(),
      });
      published.push({ report, duplicate });
    }
    if (this.appended >= this.options.compactEveryRecords) await this.compact();
    return { published, failed };
  }

  /**
   * Ends windows open longer than the retention age as ABORTED, drops published ids beyond the
   * retention limits and rewrites the log as a snapshot of what remains.
   */
  async compact(): Promise<void> {
    const now = this.options.now();
    for (const window of this.openWindows) {
      if (window.openedAtMs >= now - this.options.retention.maxAgeMs) continue;
      const aborted = `no packet ended the window within ${this.options.retention.maxAgeMs} ms of its opening`;
      await this.record({ kind: "ended", report: fieldReportOf(window, { aborted }, now) });
    }
    retainPublished(this.state, now, this.options.retention);
    await this.wal.rewrite(snapshotRecords(this.state).map(encodeJournalRecord));
    this.appended = 0;
  }

  /** Closes the log. */
  close(): Promise<void> {
    return this.wal.close();
  }

  private known(reportId: string): boolean {
    return this.state.pending.has(reportId) || this.state.published.has(reportId);
  }

  /**
   * Checks that each record follows from the state, appends them in one fsynced write and only then
   * applies them. The records of one call concern different windows, or one window's observation
   * before its end, so each is checked against the state before any of them is applied.
   */
  private async record(...records: JournalRecord[]): Promise<void> {
    if (records.length === 0) return;
    for (const record of records) checkJournalRecord(this.state, record);
    await this.wal.append(...records.map(encodeJournalRecord));
    for (const record of records) applyJournalRecord(this.state, record);
    this.appended += records.length;
  }
}
