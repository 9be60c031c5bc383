import { crc32 } from "node:zlib";
import { Decoder, Encoder } from "@msgpack/msgpack";
import {
  CHECKSUM_BYTES,
  LENGTH_PREFIX_BYTES,
  MAX_RECORD_BYTES,
  type RecordedFrame,
  type RecordingHeader,
  type RecordingSource,
} from "./format.ts";

/** A decoded record that does not have the shape of a header or frame; `field` names the offending field. */
export class RecordShapeError extends Error {
  override readonly name = "RecordShapeError";
  /** Dotted path of the field, e.g. `headers.Esper-Priority[0]`. */
  readonly field: string;

  constructor(field: string, problem: string) {
    super(`field '${field}' ${problem}`);
    this.field = field;
  }
}

const encoder = new Encoder();
const decoder = new Decoder();

/** Encodes a header or frame as one checksummed record: length prefix, msgpack body, checksum. */
export function encodeRecord(value: RecordingHeader | RecordedFrame): Uint8Array {
  return recordOfBody(encoder.encodeSharedRef(toPlain(value)));
}

/** Frames a record body: uint32 BE length prefix, the body, then {@link recordChecksum} of both. */
export function recordOfBody(body: Uint8Array): Uint8Array {
  if (body.length > MAX_RECORD_BYTES) {
    throw new RangeError(`record of ${body.length} bytes exceeds the maximum of ${MAX_RECORD_BYTES} bytes`);
  }
  const out = new Uint8Array(LENGTH_PREFIX_BYTES + body.length + CHECKSUM_BYTES);
  new DataView(out.buffer).setUint32(0, body.length, false);
  out.set(body, LENGTH_PREFIX_BYTES);
  const checksum = recordChecksum(out.subarray(0, LENGTH_PREFIX_BYTES), body);
  new DataView(out.buffer).setUint32(LENGTH_PREFIX_BYTES + body.length, checksum, false);
  return out;
}

/** CRC-32 (IEEE 802.3, as zlib computes it) over a record's length prefix and body, stored after the body in {@link CHECKSUM_BYTES} bytes. */
export function recordChecksum(prefix: Uint8Array, body: Uint8Array): number {
  return crc32(body, crc32(prefix));
}

/** Decodes the msgpack body of a record (without its length prefix). */
export function decodeRecordBody(body: Uint8Array): unknown {
  return decoder.decode(body);
}

function toPlain(value: RecordingHeader | RecordedFrame): Record<string, unknown> {
  if ("formatVersion" in value) {
    return {
      formatVersion: value.formatVersion,
      createdAtMs: value.createdAtMs,
      namespace: value.namespace,
      subjects: [...value.subjects],
      contractVersion: value.contractVersion,
      tool: value.tool,
      source: { ...value.source },
    };
  }
  const plain: Record<string, unknown> = {
    subject: value.subject,
    reply: value.reply,
    headers: value.headers,
    payload: value.payload,
    receivedAtMs: value.receivedAtMs,
    offsetUs: value.offsetUs,
  };
  if (value.streamSeq !== undefined) plain.streamSeq = value.streamSeq;
  return plain;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function strictObject(v: unknown, field: string, allowed: readonly string[]): Record<string, unknown> {
  if (!isRecord(v)) throw new RecordShapeError(field, "must be a map");
  for (const key of Object.keys(v)) {
    if (!allowed.includes(key))
      throw new RecordShapeError(field === "" ? key : `${field}.${key}`, "is not known");
  }
  return v;
}

function str(v: unknown, field: string): string {
  if (typeof v !== "string") throw new RecordShapeError(field, "must be a string");
  return v;
}

function nonEmptyStr(v: unknown, field: string): string {
  const s = str(v, field);
  if (s === "") throw new RecordShapeError(field, "must not be empty");
  return s;
}

function uint(v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new RecordShapeError(field, "must be a non-negative integer");
  }
  return v;
}

function subject(v: unknown, field: string): string {
  const s = nonEmptyStr(v, field);
  if (/\s/.test(s)) throw new RecordShapeError(field, "must not contain whitespace");
  return s;
}

function source(v: unknown): RecordingSource {
  const o = strictObject(v, "source", ["kind", "stream", "firstSeq", "lastSeq"]);
  if (o.kind === "subscription") {
    strictObject(v, "source", ["kind"]);
    return { kind: "subscription" };
  }
  if (o.kind === "stream") {
    return {
      kind: "stream",
      stream: nonEmptyStr(o.stream, "source.stream"),
      firstSeq: uint(o.firstSeq, "source.firstSeq"),
      lastSeq: uint(o.lastSeq, "source.lastSeq"),
    };
  }
  throw new RecordShapeError("source.kind", "must be 'subscription' or 'stream'");
}

const HEADER_KEYS = [
  "formatVersion",
  "createdAtMs",
  "namespace",
  "subjects",
  "contractVersion",
  "tool",
  "source",
];

/** Checks a decoded header record; throws RecordShapeError naming the field. */
export function headerFromRecord(value: unknown): RecordingHeader {
  const o = strictObject(value, "", HEADER_KEYS);
  for (const key of HEADER_KEYS) if (!(key in o)) throw new RecordShapeError(key, "is missing");
  if (!Array.isArray(o.subjects)) throw new RecordShapeError("subjects", "must be an array");
  return {
    formatVersion: uint(o.formatVersion, "formatVersion"),
    createdAtMs: uint(o.createdAtMs, "createdAtMs"),
    namespace: o.namespace === null ? null : nonEmptyStr(o.namespace, "namespace"),
    subjects: o.subjects.map((s: unknown, i: number) => subject(s, `subjects[${i}]`)),
    contractVersion: uint(o.contractVersion, "contractVersion"),
    tool: nonEmptyStr(o.tool, "tool"),
    source: source(o.source),
  };
}

const FRAME_KEYS = ["subject", "reply", "headers", "payload", "receivedAtMs", "offsetUs", "streamSeq"];

function headerMap(v: unknown): Record<string, readonly string[]> {
  if (!isRecord(v)) throw new RecordShapeError("headers", "must be a map");
  const out: Record<string, readonly string[]> = {};
  for (const [name, values] of Object.entries(v)) {
    if (name === "") throw new RecordShapeError("headers", "must not have an empty name");
    if (!Array.isArray(values)) throw new RecordShapeError(`headers.${name}`, "must be an array of strings");
    out[name] = values.map((x: unknown, i: number) => str(x, `headers.${name}[${i}]`));
  }
  return out;
}

/** Checks a decoded frame record; throws RecordShapeError naming the field. */
export function frameFromRecord(value: unknown): RecordedFrame {
  const o = strictObject(value, "", FRAME_KEYS);
  for (const key of FRAME_KEYS.slice(0, 6)) if (!(key in o)) throw new RecordShapeError(key, "is missing");
  if (!(o.payload instanceof Uint8Array)) throw new RecordShapeError("payload", "must be binary");
  const frame = {
    subject: subject(o.subject, "subject"),
    reply: o.reply === null ? null : subject(o.reply, "reply"),
    headers: headerMap(o.headers),
    payload: o.payload,
    receivedAtMs: uint(o.receivedAtMs, "receivedAtMs"),
    offsetUs: uint(o.offsetUs, "offsetUs"),
  };
  return o.streamSeq === undefined ? frame : { ...frame, streamSeq: uint(o.streamSeq, "streamSeq") };
}
