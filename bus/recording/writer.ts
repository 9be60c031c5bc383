import { type FileHandle, open } from "node:fs/promises";
import {
  encodePreamble,
  RECORDING_FORMAT_VERSION,
  type RecordedFrame,
  type RecordingHeader,
} from "./format.ts";
import { encodeRecord } from "./records.ts";

/** The header fields a writer's caller supplies; the writer sets the format version and creation time. */
export type RecordingHeaderInput = Omit<RecordingHeader, "formatVersion" | "createdAtMs">;

/** When buffered frames are written out. */
export interface WriterOptions {
  /** Write once this many bytes are buffered. Default 256 KiB. */
  readonly flushBytes?: number;
  /** Write buffered frames at most this many milliseconds after they were appended. Default 100. */
  readonly flushIntervalMs?: number;
}

/** What a closed writer wrote. */
export interface WriterSummary {
  readonly file: string;
  readonly frames: number;
  /** File size in bytes, preamble and header included. */
  readonly bytes: number;
}

/**
 * Streams a recording to a new file: `append` buffers a frame synchronously; buffered bytes are
 * written when `flushBytes` accumulate or `flushIntervalMs` pass; `close` writes the rest, fsyncs
 * and closes. A failed write is kept and thrown by the next append, flush or close.
 */
export class RecordingWriter {
  /** The file path. */
  readonly file: string;
  readonly #fh: FileHandle;
  readonly #flushBytes: number;
  readonly #flushIntervalMs: number;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #appended = 0;
  #written = 0;
  #frames = 0;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #failure: unknown;
  #closing: Promise<WriterSummary> | undefined;

  private constructor(file: string, fh: FileHandle, options: WriterOptions) {
    this.file = file;
    this.#fh = fh;
    this.#flushBytes = options.flushBytes ?? 256 * 1024;
    this.#flushIntervalMs = options.flushIntervalMs ?? 100;
  }

  /** Creates `file` (refusing to overwrite an existing one) and writes the preamble and header record. */
  static async create(
    file: string,
    header: RecordingHeaderInput,
    options: WriterOptions = {},
  ): Promise<RecordingWriter> {
    let fh: FileHandle;
    try {
      fh = await open(file, "wx");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") {
        throw new Error(`recording file '${file}' already exists; refusing to overwrite it`);
      }
      throw err;
    }
    const writer = new RecordingWriter(file, fh, options);
    const full: RecordingHeader = {
      ...header,
      formatVersion: RECORDING_FORMAT_VERSION,
      createdAtMs: Date.now(),
    };
    writer.#push(encodePreamble());
    writer.#push(encodeRecord(full));
    await writer.flush();
    return writer;
  }

  /** Frames appended so far. */
  get frames(): number {
    return this.#frames;
  }

  /** Bytes appended so far (written or buffered), preamble and header included. */
  get bytes(): number {
    return this.#appended;
  }

  /** Buffers one frame. Throws if the writer is closed or an earlier write failed. */
  append(frame: RecordedFrame): void {
    this.#check();
    if (this.#closing) throw new Error(`recording '${this.file}' is closed`);
    this.#push(encodeRecord(frame));
    this.#frames++;
    if (this.#pendingBytes >= this.#flushBytes) this.#startWrite();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#startWrite();
      }, this.#flushIntervalMs);
    }
  }

  /** Writes every buffered byte to the file (no fsync). */
  async flush(): Promise<void> {
    this.#startWrite();
    await this.#writing;
    this.#check();
  }

  /** Writes the rest, fsyncs and closes the file. Calling it again returns the same summary. */
  close(): Promise<WriterSummary> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<WriterSummary> {
    try {
      await this.flush();
      await this.#fh.sync();
    } finally {
      await this.#fh.close();
    }
    return { file: this.file, frames: this.#frames, bytes: this.#written };
  }

  #push(bytes: Uint8Array): void {
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
    this.#appended += bytes.length;
  }

  #check(): void {
    if (this.#failure !== undefined) {
      throw new Error(`writing recording '${this.file}' failed`, { cause: this.#failure });
    }
  }

  #startWrite(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#pendingBytes === 0) return;
    const chunks = this.#pending;
    const size = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#writing = this.#writing.then(async () => {
      if (this.#failure !== undefined) return;
      try {
        const buf = Buffer.concat(chunks, size);
        let done = 0;
        while (done < size) {
          const { bytesWritten } = await this.#fh.write(buf, done, size - done);
          done += bytesWritten;
        }
        this.#written += size;
      } catch (err) {
        this.#failure = err;
      }
    });
  }
}
