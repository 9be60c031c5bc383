import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Writes `chunks` to `<file>.tmp`, fsyncs it, renames it over `file` and fsyncs the directory: a reader
 * sees the old file or the whole new one, never a part. A failed write removes the temporary file.
 */
export async function writeFileAtomically(file: string, chunks: readonly Uint8Array[]): Promise<void> {
  const temp = join(dirname(file), `${basename(file)}.tmp`);
  const out = await open(temp, "w");
  try {
    for (const c of chunks) await out.write(c);
    await out.sync();
  } catch (err) {
    await out.close();
    await rm(temp, { force: true });
    throw err;
  }
  await out.close();
  await rename(temp, file);
  const dir = await open(dirname(file), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
