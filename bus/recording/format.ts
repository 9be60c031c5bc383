/**
 * The `.esperrec` recording file format, version 2 (described byte by byte in ./README.md):
 * an 8-byte magic, a uint32 big-endian format version, then checksummed records (uint32 big-endian
 * byte length, the msgpack map, a CRC-32 checksum): first the header record, then one frame per
 * recorded message. Payloads are opaque bytes; nothing here decodes them.
 */

/** The first 8 bytes of every recording file: ASCII `ESPERREC`. */
export const RECORDING_MAGIC: Uint8Array = new TextEncoder().encode("ESPERREC");

/** The format version this code writes and the only one it reads. */
export const RECORDING_FORMAT_VERSION = 2;

/** Bytes before the header record: magic (8) + format version (4). */
export const PREAMBLE_BYTES = 12;

/** Bytes of the length prefix before each msgpack record. */
export const LENGTH_PREFIX_BYTES = 4;

/** Bytes of the checksum after each msgpack record: CRC-32 of the length prefix and the body, uint32 big-endian. */
export const CHECKSUM_BYTES = 4;

/** Largest msgpack record (header or frame) a file may hold; a larger length prefix means corruption. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** Where the recorded messages came from. */
export type RecordingSource =
  | { readonly kind: "subscription" }
  | {
      readonly kind: "stream";
      /** JetStream stream name. */
      readonly stream: string;
      /** First stream sequence considered by the export. */
      readonly firstSeq: number;
      /** Last stream sequence at the time of the export. */
      readonly lastSeq: number;
    };

/** The header record: the first record of every file. */
export interface RecordingHeader {
  /** Equals the version in the preamble. */
  readonly formatVersion: number;
  /** Wall-clock creation time, integer milliseconds since the Unix epoch. */
  readonly createdAtMs: number;
  /** The namespace every subject filter starts with, or null when the filters do not share one literal first token. */
  readonly namespace: string | null;
  /** The NATS subject filters that were recorded (`>` and `*` wildcards allowed). */
  readonly subjects: readonly string[];
  /** CONTRACT_VERSION of the tool that wrote the file (payloads are not decoded; this is a note). */
  readonly contractVersion: number;
  /** The tool that wrote the file, e.g. `esper record`. */
  readonly tool: string;
  /** Live subscription or JetStream stream export. */
  readonly source: RecordingSource;
}

/** One recorded message. */
export interface RecordedFrame {
  /** The subject the message was published on. */
  readonly subject: string;
  /** NATS headers: name → values, in received order. Empty when the message had none. */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  /** The reply subject the message carried (a request), or null when it had none. */
  readonly reply: string | null;
  /** The exact payload bytes. */
  readonly payload: Uint8Array;
  /** Wall-clock receive time (stream timestamp for exports), integer milliseconds since the Unix epoch. */
  readonly receivedAtMs: number;
  /** Integer microseconds since the start of the recording, from a monotonic clock (stream timestamps for exports). */
  readonly offsetUs: number;
  /** JetStream stream sequence; present only in stream exports. */
  readonly streamSeq?: number;
}

/** Where in a file a {@link RecordingFormatError} was found, beyond its byte offset. */
export interface RecordingDefectPlace {
  /** Index of the frame (0 = the first frame after the header record); null for the preamble or header record. */
  readonly frame: number | null;
  /** True when the file ends before the record (or preamble) is complete. */
  readonly truncated: boolean;
}

/**
 * A file that is not a valid recording: names the file, the byte offset where the bad record (its
 * length prefix) starts, the frame index and whether the file is truncated there.
 */
export class RecordingFormatError extends Error {
  override readonly name = "RecordingFormatError";
  /** The file path. */
  readonly file: string;
  /** Byte offset in the file where the bad or missing data starts. */
  readonly offset: number;
  /** Index of the bad frame; null when the preamble or the header record is bad. */
  readonly frame: number | null;
  /** True when the file ends inside the preamble or a record. */
  readonly truncated: boolean;

  constructor(file: string, offset: number, reason: string, place: RecordingDefectPlace) {
    super(`${file}: ${reason} at byte offset ${offset}`);
    this.file = file;
    this.offset = offset;
    this.frame = place.frame;
    this.truncated = place.truncated;
  }
}

/** The 12-byte preamble: magic then format version (uint32 big-endian). */
export function encodePreamble(): Uint8Array {
  const out = new Uint8Array(PREAMBLE_BYTES);
  out.set(RECORDING_MAGIC, 0);
  new DataView(out.buffer).setUint32(RECORDING_MAGIC.length, RECORDING_FORMAT_VERSION, false);
  return out;
}
