import { constants } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { open, readFile } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { writeFileAtomically } from "../runtime/atomic-file.ts";

/**
 * An append-only write-ahead log file. Layout (integers unsigned big-endian): the 8-byte magic
 * `ESPERWAL`, a uint32 format version (1), then records to the end of the file, each a uint32 length
 * `N` (1 ≤ N ≤ {@link WAL_MAX_RECORD_BYTES}), `N` body bytes and the CRC-32 (zlib's) of length prefix
 * and body. Bodies are opaque bytes: the caller encodes its records.
 */

const MAGIC = new TextEncoder().encode("ESPERWAL");
/** The format version this module writes and reads. */
export const WAL_FORMAT_VERSION = 1;
/** Bytes before the first record: magic and version. */
export const WAL_HEADER_BYTES = MAGIC.length + 4;
/** Largest record body. */
export const WAL_MAX_RECORD_BYTES = 1024 * 1024;
const PREFIX_BYTES = 4;
const CHECKSUM_BYTES = 4;
/** Most bytes a torn append can leave: one whole record less one byte. */
const MAX_TORN_BYTES = PREFIX_BYTES + WAL_MAX_RECORD_BYTES + CHECKSUM_BYTES - 1;

/** A record in the middle of the log (or the header) is damaged: the log is not read. */
export class WalCorruptError extends Error {
  override readonly name = "WalCorruptError";
  constructor(
    readonly file: string,
    /** Byte offset of the damaged record (or 0 for the header). */
    readonly offset: number,
    readonly problem: string,
  ) {
    super(
      `write-ahead log ${file} is corrupt at byte offset ${offset}: ${problem} (move the file away to start with an empty log)`,
    );
  }
}

/** A log that failed an append or was closed; it takes no more writes. */
export class WalUnusableError extends Error {
  override readonly name = "WalUnusableError";
}

/** The torn tail dropped at load: the bytes of an append a crash cut short. */
export interface WalTornTail {
  /** Offset of the first dropped byte; the log now ends here. */
  readonly offset: number;
  readonly droppedBytes: number;
  /** Records dropped: the one whose append was cut short. */
  readonly droppedRecords: 1;
  readonly reason: string;
}

/** What a load read. */
export interface WalLoad {
  readonly records: readonly Uint8Array[];
  /** Bytes of the intact log (header and whole records). */
  readonly bytes: number;
  /** The torn tail dropped, if the last append was cut short. */
  readonly tornTail: WalTornTail | undefined;
}

/** Frames one record body: length prefix, body, checksum. */
export function frameRecord(body: Uint8Array): Uint8Array {
  if (body.length < 1 || body.length > WAL_MAX_RECORD_BYTES) {
    throw new RangeError(`a WAL record holds 1 to ${WAL_MAX_RECORD_BYTES} bytes, not ${body.length}`);
  }
  const out = new Uint8Array(PREFIX_BYTES + body.length + CHECKSUM_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length, false);
  out.set(body, PREFIX_BYTES);
  view.setUint32(PREFIX_BYTES + body.length, checksumOf(out, 0, body.length), false);
  return out;
}

/** The header of an empty log. */
export function walHeader(): Uint8Array {
  const out = new Uint8Array(WAL_HEADER_BYTES);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(MAGIC.length, WAL_FORMAT_VERSION, false);
  return out;
}

function checksumOf(bytes: Uint8Array, offset: number, length: number): number {
  return crc32(bytes.subarray(offset, offset + PREFIX_BYTES + length));
}

/** An intact record at `offset`: its body length, or undefined when none starts there. */
function intactRecordAt(bytes: Uint8Array, offset: number): number | undefined {
  if (bytes.length - offset < PREFIX_BYTES + 1 + CHECKSUM_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(offset, false);
  if (length < 1 || length > WAL_MAX_RECORD_BYTES) return undefined;
  const end = offset + PREFIX_BYTES + length + CHECKSUM_BYTES;
  if (end > bytes.length) return undefined;
  const stored = view.getUint32(offset + PREFIX_BYTES + length, false);
  return stored === checksumOf(bytes, offset, length) ? length : undefined;
}

/**
 * Reads a whole log strictly. A damaged header, or a damaged record followed by an intact one, throws
 * WalCorruptError naming the offset. A damaged end that no intact record follows and that is shorter
 * than one record (an append cut short: a partial record, zero-filled bytes, or a whole-length record
 * whose checksum fails) is the torn tail: reported, not returned.
 */
export function parseWal(bytes: Uint8Array, file: string): WalLoad {
  if (bytes.length < WAL_HEADER_BYTES) {
    throw new WalCorruptError(
      file,
      0,
      `${bytes.length} bytes is shorter than the ${WAL_HEADER_BYTES}-byte header`,
    );
  }
  if (!MAGIC.every((b, i) => bytes[i] === b)) throw new WalCorruptError(file, 0, "no ESPERWAL magic");
  const version = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(
    MAGIC.length,
    false,
  );
  if (version !== WAL_FORMAT_VERSION) {
    throw new WalCorruptError(file, 0, `format version ${version}, this reader reads ${WAL_FORMAT_VERSION}`);
  }
  const records: Uint8Array[] = [];
  let offset = WAL_HEADER_BYTES;
  while (offset < bytes.length) {
    const length = intactRecordAt(bytes, offset);
    if (length === undefined) {
      return { records, bytes: offset, tornTail: tornTail(bytes, offset, file) };
    }
    records.push(bytes.slice(offset + PREFIX_BYTES, offset + PREFIX_BYTES + length));
    offset += PREFIX_BYTES + length + CHECKSUM_BYTES;
  }
  return { records, bytes: offset, tornTail: undefined };
}

function tornTail(bytes: Uint8Array, offset: number, file: string): WalTornTail {
  const droppedBytes = bytes.length - offset;
  for (let at = offset + 1; at < bytes.length; at++) {
    if (intactRecordAt(bytes, at) !== undefined) {
      throw new WalCorruptError(file, offset, `damaged record followed by an intact record at offset ${at}`);
    }
  }
  if (droppedBytes > MAX_TORN_BYTES) {
    throw new WalCorruptError(
      file,
      offset,
      `${droppedBytes} unreadable bytes to the end, more than one record`,
    );
  }
  return { offset, droppedBytes, droppedRecords: 1, reason: tornReason(bytes, offset) };
}

function tornReason(bytes: Uint8Array, offset: number): string {
  const remaining = bytes.length - offset;
  if (bytes.subarray(offset).every((b) => b === 0)) return `${remaining} zero bytes after the last record`;
  if (remaining < PREFIX_BYTES) return `${remaining} bytes of a length prefix`;
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, false);
  const whole = PREFIX_BYTES + length + CHECKSUM_BYTES;
  if (length >= 1 && length <= WAL_MAX_RECORD_BYTES && whole > remaining) {
    return `a record of ${whole} bytes cut short at ${remaining} bytes`;
  }
  if (whole === remaining) return "the last record's checksum does not match";
  return `unreadable length prefix ${length}`;
}

/**
 * Flags of the log's handle: read-write with O_DSYNC, so a write returns once its bytes (and the file
 * size) are on stable storage, as a write followed by fdatasync, in one call instead of two. Throws
 * where the platform has no O_DSYNC (appends would not be durable).
 */
function writeThroughFlags(): number {
  if (constants.O_DSYNC === undefined)
    throw new Error("this platform has no O_DSYNC: the write-ahead log cannot make its appends durable");
  return constants.O_RDWR | constants.O_DSYNC;
}

/**
 * One write-ahead log file, opened for appending. Every append is written through to stable storage
 * (O_DSYNC) before it resolves; appends run one at a time in call order. A failed append leaves the log unusable (the
 * file may end in a torn record, which the next load drops and reports).
 */
export class WriteAheadLog {
  private size: number;
  private queue: Promise<unknown> = Promise.resolve();
  private unusable: Error | undefined;

  private constructor(
    /** The log's path. */
    readonly file: string,
    private handle: FileHandle,
    size: number,
  ) {
    this.size = size;
  }

  /**
   * Opens the log at `file` (its directory must exist), creating an empty one atomically when it does
   * not exist. A torn tail is cut off (the file truncated and fsynced) and reported in the load.
   */
  static async open(file: string): Promise<{ wal: WriteAheadLog; load: WalLoad }> {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      await writeFileAtomically(file, [walHeader()]);
      bytes = walHeader();
    }
    const load = parseWal(bytes, file);
    const handle = await open(file, writeThroughFlags());
    try {
      if (load.tornTail !== undefined) {
        await handle.truncate(load.bytes);
        await handle.sync();
      }
    } catch (err) {
      await handle.close();
      throw err;
    }
    return { wal: new WriteAheadLog(file, handle, load.bytes), load };
  }

  /** Bytes of the log file. */
  get sizeBytes(): number {
    return this.size;
  }

  /**
   * Appends records in one write, written through to stable storage: one sync for all of them. A
   * crash mid-write leaves a torn tail that the next load drops (the records after the last whole one).
   */
  append(...bodies: readonly Uint8Array[]): Promise<void> {
    const frame = Buffer.concat(bodies.map(frameRecord));
    return this.serial(async () => {
      const { bytesWritten } = await this.handle.write(frame, 0, frame.length, this.size);
      if (bytesWritten !== frame.length)
        throw new Error(`short write: ${bytesWritten} of ${frame.length} byte(s) at offset ${this.size}`);
      this.size += frame.length;
    });
  }

  /**
   * Replaces the whole log by `bodies` atomically: written to a temporary file beside it, fsynced,
   * renamed over the log, the directory fsynced; then appends continue on the new file.
   */
  rewrite(bodies: readonly Uint8Array[]): Promise<void> {
    const frames = [walHeader(), ...bodies.map(frameRecord)];
    return this.serial(async () => {
      await writeFileAtomically(this.file, frames);
      await this.handle.close();
      this.handle = await open(this.file, writeThroughFlags());
      this.size = frames.reduce((n, f) => n + f.length, 0);
    });
  }

  /** Closes the file; later appends and rewrites fail. */
  close(): Promise<void> {
    return this.serial(async () => {
      this.unusable = new WalUnusableError(`write-ahead log ${this.file} is closed`);
      await this.handle.close();
    });
  }

  private serial(op: () => Promise<void>): Promise<void> {
    const run = this.queue.then(async () => {
      if (this.unusable !== undefined) throw this.unusable;
      try {
        await op();
      } catch (err) {
        this.unusable ??= new WalUnusableError(
          `write-ahead log ${this.file} failed a write and takes no more: ${err instanceof Error ? err.message : String(err)}`,
        );
        throw err;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
