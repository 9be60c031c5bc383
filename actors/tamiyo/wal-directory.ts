import { constants } from "node:fs";
import { access, mkdir } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { WalDirectoryError } from "./errors.ts";
import { FIELD_REPORT_LOG_FILE, WAL_DIR_ENV } from "./settings.ts";

/**
 * The field-report log path from the environment: `$ESPER_TAMIYO_WAL_DIR/field-reports.wal`. The
 * variable is required (no default: a log under a temporary or working directory would silently
 * lose pending windows across restarts); the directory is created when absent and must be writable.
 * Throws WalDirectoryError naming the variable, its value and what is wrong.
 */
export async function fieldReportLogPath(env: Readonly<Record<string, string | undefined>>): Promise<string> {
  const dir = env[WAL_DIR_ENV];
  if (dir === undefined || dir.trim() === "") throw new WalDirectoryError(WAL_DIR_ENV, dir, "is not set");
  if (!isAbsolute(dir)) throw new WalDirectoryError(WAL_DIR_ENV, dir, "is not an absolute path");
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new WalDirectoryError(WAL_DIR_ENV, dir, `is not a writable directory (${reason})`);
  }
  return join(dir, FIELD_REPORT_LOG_FILE);
}
