import { type FileHandle, open } from "node:fs/promises";
import {
  CHECKSUM_BYTES,
  LENGTH_PREFIX_BYTES,
  MAX_RECORD_BYTES,
  PREAMBLE_BYTES,
  RECORDING_FORMAT_VERSION,
  RECORDING_MAGIC,
  type RecordedFrame,
  RecordingFormatError,
  type RecordingHeader,
} from "./format.ts";
import {
  decodeRecordBody,
  frameFromRecord,
  headerFromRecord,
  RecordShapeError,
  recordChecksum,
} from "./records.ts";

const CHUNK_BYTES = 1024 * 1024;

/** Sequential reads of exact byte counts from a file, tracking the absolute offset. */
class ByteSource {
  readonly #fh: FileHandle;
  #buf: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #eof = false;
  /** Absolute file offset of the next unread byte. */
  offset = 0;

  constructor(fh: FileHandle) {
    this.#fh = fh;
  }

  /** Returns up to `n` bytes (fewer only at end of file). */
  async read(n: number): Promise<Uint8Array> {
    while (this.#buf.length - this.#pos < n && !this.#eof) {
      const rest = this.#buf.subarray(this.#pos);
      const chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, n - rest.length));
      const { bytesRead } = await this.#fh.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) this.#eof = true;
      const next = new Uint8Array(rest.length + bytesRead);
      next.set(rest, 0);
      next.set(chunk.subarray(0, bytesRead), rest.length);
      this.#buf = next;
      this.#pos = 0;
    }
    const end = Math.min(this.#pos + n, this.#buf.length);
    const out = this.#buf.slice(this.#pos, end);
    this.#pos = end;
    this.offset += out.length;
    return out;
  }
}

/**
 * Reads a recording: `open` checks the magic, format version and header record; iterating yields
 * each frame in file order. Every defect (bad magic, unsupported version, truncated record, checksum
 * mismatch, malformed record) is a RecordingFormatError naming the file, the byte offset and the
 * frame index. Frames before a defect are yielded. The file closes when iteration ends.
 */
export class RecordingReader implements AsyncIterable<RecordedFrame> {
  /** The file path. */
  readonly file: string;
  /** The header record. */
  readonly header: RecordingHeader;
  readonly #fh: FileHandle;
  readonly #src: ByteSource;
  #started = false;
  #closed = false;

  private constructor(file: string, fh: FileHandle, src: ByteSource, header: RecordingHeader) {
    this.file = file;
    this.#fh = fh;
    this.#src = src;
    this.header = header;
  }

  /** Opens `file` and reads its preamble and header record. */
  static async open(file: string): Promise<RecordingReader> {
    const fh = await open(file, "r");
    try {
      const src = new ByteSource(fh);
      const preamble = await src.read(PREAMBLE_BYTES);
      const magic = preamble.subarray(0, RECORDING_MAGIC.length);
      if (magic.length < RECORDING_MAGIC.length || !magic.every((b, i) => b === RECORDING_MAGIC[i])) {
        throw new RecordingFormatError(file, 0, "not an Esper recording (bad magic, expected 'ESPERREC')", {
          frame: null,
          truncated: false,
        });
      }
      if (preamble.length < PREAMBLE_BYTES) {
        throw new RecordingFormatError(
          file,
          RECORDING_MAGIC.length,
          "truncated preamble: format version missing",
          { frame: null, truncated: true },
        );
      }
      const version = new DataView(preamble.buffer, preamble.byteOffset).getUint32(
        RECORDING_MAGIC.length,
        false,
      );
      if (version !== RECORDING_FORMAT_VERSION) {
        throw new RecordingFormatError(
          file,
          RECORDING_MAGIC.length,
          `unsupported format version ${version} (this reader supports ${RECORDING_FORMAT_VERSION})`,
          { frame: null, truncated: false },
        );
      }
      const start = src.offset;
      const body = await readRecord(file, src, null);
      if (body === null) {
        throw new RecordingFormatError(file, start, "missing header record", {
          frame: null,
          truncated: true,
        });
      }
      const header = parseRecord(file, start, null, body, headerFromRecord);
      if (header.formatVersion !== version) {
        throw new RecordingFormatError(
          file,
          start,
          `header record formatVersion ${header.formatVersion} differs from the preamble's ${version}`,
          { frame: null, truncated: false },
        );
      }
      return new RecordingReader(file, fh, src, header);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Yields every frame in file order, then closes the file. Can be iterated once. */
  async *[Symbol.asyncIterator](): AsyncGenerator<RecordedFrame> {
    if (this.#started) throw new Error(`recording '${this.file}' can be iterated only once`);
    this.#started = true;
    try {
      for (let index = 0; ; index++) {
        const start = this.#src.offset;
        const body = await readRecord(this.file, this.#src, index);
        if (body === null) return;
        yield parseRecord(this.file, start, index, body, frameFromRecord);
      }
    } finally {
      await this.close();
    }
  }

  /** Closes the file (also done when iteration ends). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#fh.close();
  }
}

const describe = (frame: number | null): string => (frame === null ? "header record" : `frame #${frame}`);

/** Reads one record and checks its checksum; returns its body, or null at a clean end of file. */
async function readRecord(file: string, src: ByteSource, frame: number | null): Promise<Uint8Array | null> {
  const start = src.offset;
  const what = describe(frame);
  const fail = (reason: string, truncated: boolean): RecordingFormatError =>
    new RecordingFormatError(file, start, reason, { frame, truncated });
  const prefix = await src.read(LENGTH_PREFIX_BYTES);
  if (prefix.length === 0) return null;
  if (prefix.length < LENGTH_PREFIX_BYTES) {
    throw fail(`truncated ${what}: length prefix has ${prefix.length} of ${LENGTH_PREFIX_BYTES} bytes`, true);
  }
  const length = new DataView(prefix.buffer, prefix.byteOffset).getUint32(0, false);
  if (length === 0 || length > MAX_RECORD_BYTES) {
    throw fail(`${what} has invalid length ${length} (must be 1..${MAX_RECORD_BYTES})`, false);
  }
  const rest = await src.read(length + CHECKSUM_BYTES);
  if (rest.length < length + CHECKSUM_BYTES) {
    throw fail(
      `truncated ${what}: expected ${length} bytes and a ${CHECKSUM_BYTES}-byte checksum after the length prefix, file has ${rest.length}`,
      true,
    );
  }
  const body = rest.subarray(0, length);
  const stored = new DataView(rest.buffer, rest.byteOffset + length).getUint32(0, false);
  const computed = recordChecksum(prefix, body);
  if (stored !== computed) {
    const hex = (v: number): string => v.toString(16).padStart(8, "0");
    throw fail(`${what} checksum mismatch (stored CRC-32 ${hex(stored)}, computed ${hex(computed)})`, false);
  }
  return body;
}

function parseRecord<T>(
  file: string,
  start: number,
  frame: number | null,
  body: Uint8Array,
  check: (value: unknown) => T,
): T {
  const what = describe(frame);
  let value: unknown;
  try {
    value = decodeRecordBody(body);
  } catch (err) {
    throw new RecordingFormatError(file, start, `${what} is not valid msgpack (${(err as Error).message})`, {
      frame,
      truncated: false,
    });
  }
  try {
    return check(value);
  } catch (err) {
    if (err instanceof RecordShapeError)
      throw new RecordingFormatError(file, start, `${what}: ${err.message}`, { frame, truncated: false });
    throw err;
  }
}

/** Reads a whole recording into memory (for tests and small golden files). */
export async function readRecording(
  file: string,
): Promise<{ readonly header: RecordingHeader; readonly frames: RecordedFrame[] }> {
  const reader = await RecordingReader.open(file);
  const frames: RecordedFrame[] = [];
  for await (const frame of reader) frames.push(frame);
  return { header: reader.header, frames };
}
