import { type FileHandle, mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { TelemetryPacket } from "../../contracts/messages/telemetry.ts";
import { InvalidSummaryError, RunDirectoryError, RunDirectoryNotEmptyError } from "./errors.ts";
import { RunSummary } from "./summary-schema.ts";

/** The files of a run directory. */
export interface RunDirectoryPaths {
  readonly dir: string;
  readonly summary: string;
  readonly telemetry: string;
  /** Where the bus recorder writes the run's traffic. */
  readonly busRecording: string;
}

/** Where a run's directory is: an explicit `dir` (`--run-dir`), or `<root>/<runId>`. */
export type RunDirectoryLocation =
  | { readonly dir: string }
  | { readonly root: string; readonly runId: string };

const RUN_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** The run directory's path for `where`; a run id that is not a safe path token is a RunDirectoryError. */
export function runDirectoryPath(where: RunDirectoryLocation): string {
  if ("dir" in where) return resolve(where.dir);
  const dir = resolve(where.root, where.runId);
  if (!RUN_ID.test(where.runId)) {
    throw new RunDirectoryError(dir, `run id '${where.runId}' must be 1-128 characters of [A-Za-z0-9_-]`);
  }
  return dir;
}

/**
 * A run's directory, claimed for this run: `summary.json` (written atomically), `telemetry.jsonl`
 * (appended, one TelemetryPacket per line) and the path for `bus.esperrec`.
 */
export class RunDirectory {
  private appending: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly paths: RunDirectoryPaths,
    private readonly telemetryFile: FileHandle,
  ) {}

  /**
   * Creates (or takes an existing empty) run directory and claims it by creating `telemetry.jsonl`
   * exclusively. An existing directory with any entry is a RunDirectoryNotEmptyError: a run never
   * overwrites another run's results.
   */
  static async create(where: RunDirectoryLocation): Promise<RunDirectory> {
    const dir = runDirectoryPath(where);
    const info = await stat(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    });
    if (info !== undefined && !info.isDirectory()) {
      throw new RunDirectoryError(dir, "exists and is not a directory");
    }
    await mkdir(dir, { recursive: true });
    const entries = await readdir(dir);
    if (entries.length > 0) throw new RunDirectoryNotEmptyError(dir, entries.sort());
    const paths: RunDirectoryPaths = {
      dir,
      summary: join(dir, "summary.json"),
      telemetry: join(dir, "telemetry.jsonl"),
      busRecording: join(dir, "bus.esperrec"),
    };
    let file: FileHandle;
    try {
      file = await open(paths.telemetry, "wx");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") {
        throw new RunDirectoryNotEmptyError(dir, await readdir(dir));
      }
      throw error;
    }
    return new RunDirectory(paths, file);
  }

  /** Validates `summary` against the summary.json schema and writes it atomically (temporary file, fsync, rename). */
  async writeSummary(summary: RunSummary): Promise<void> {
    const parsed = RunSummary.safeParse(summary);
    if (!parsed.success) {
      throw new InvalidSummaryError(
        parsed.error.issues.map((i) => ({ field: i.path.join(".") || "<summary>", problem: i.message })),
      );
    }
    const tmp = `${this.paths.summary}.tmp-${process.pid}`;
    const file = await open(tmp, "w");
    try {
      await file.writeFile(`${JSON.stringify(parsed.data, null, 2)}\n`);
      await file.sync();
    } catch (error) {
      await file.close();
      await rm(tmp, { force: true });
      throw error;
    }
    await file.close();
    await rename(tmp, this.paths.summary);
  }

  /** Appends `packet` as one JSON line; appends are written in call order. */
  appendTelemetry(packet: TelemetryPacket): Promise<void> {
    if (this.closed)
      return Promise.reject(new RunDirectoryError(this.paths.dir, "telemetry.jsonl is closed"));
    const line = `${JSON.stringify(packet)}\n`;
    const next = this.appending.then(async () => {
      await this.telemetryFile.write(line);
    });
    this.appending = next.catch(() => undefined);
    return next;
  }

  /** Waits for pending telemetry appends and closes telemetry.jsonl. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.appending;
    await this.telemetryFile.sync();
    await this.telemetryFile.close();
  }
}
