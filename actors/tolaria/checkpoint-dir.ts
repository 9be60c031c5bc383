import { constants } from "node:fs";
import { access, mkdir } from "node:fs/promises";
import { isAbsolute } from "node:path";

/** The environment variable naming Tolaria's checkpoint directory (Weatherlight sets `<run dir>/tolaria`). */
export const CHECKPOINT_DIR_ENV = "ESPER_TOLARIA_CHECKPOINT_DIR";

/**
 * The checkpoint directory from `env`: required (no default), absolute; created when absent and
 * checked writable. Throws an error naming ESPER_TOLARIA_CHECKPOINT_DIR otherwise.
 */
export async function checkpointDirOf(env: Readonly<Record<string, string | undefined>>): Promise<string> {
  const dir = env[CHECKPOINT_DIR_ENV];
  if (dir === undefined || dir.length === 0)
    throw new Error(`${CHECKPOINT_DIR_ENV} is not set: Tolaria needs a directory for its checkpoints`);
  if (!isAbsolute(dir)) throw new Error(`${CHECKPOINT_DIR_ENV}='${dir}' must be an absolute path`);
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (err) {
    throw new Error(`${CHECKPOINT_DIR_ENV}='${dir}' is not a writable directory: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return dir;
}
