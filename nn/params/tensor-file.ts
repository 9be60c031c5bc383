/**
 * Checksummed binary file of named float32 tensors.
 *
 * Layout (all integers little-endian):
 *   0   8 bytes  magic "ESPERPRM"
 *   8   u32      format version (1)
 *   12  u32      table length T in bytes
 *   16  32 bytes sha256 over table ‖ payload
 *   48  T bytes  UTF-8 JSON table {"tensors":[{"name","shape","offset","length"}]}
 *                (offset in bytes into the payload, length in floats; tensors are contiguous, in order)
 *   48+T         payload: float32 little-endian values
 */
import { createHash } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { endianness } from "node:os";

/** File magic. */
export const TENSOR_FILE_MAGIC = "ESPERPRM";
/** Current (and only readable) format version. */
export const TENSOR_FILE_VERSION = 1;

const HEADER_BYTES = 48;

/** One named tensor: a flat row-major buffer and its shape. */
export interface NamedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

interface TableEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

function requireLittleEndian(): void {
  if (endianness() !== "LE") throw new Error("tensor files are only supported on little-endian hosts");
}

/** Number of elements of a shape (1 for a scalar). */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function bytesOf(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Writes `tensors` to `path` atomically (temporary file in the same directory, then rename). */
export async function writeTensorFile(path: string, tensors: readonly NamedTensor[]): Promise<void> {
  requireLittleEndian();
  const entries: TableEntry[] = [];
  let offset = 0;
  for (const t of tensors) {
    entries.push({ name: t.name, shape: [...t.shape], offset, length: t.data.length });
    offset += t.data.byteLength;
  }
  const table = Buffer.from(JSON.stringify({ tensors: entries }), "utf8");
  const hash = createHash("sha256").update(table);
  for (const t of tensors) hash.update(bytesOf(t.data));
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(TENSOR_FILE_MAGIC, 0, "ascii");
  header.writeUInt32LE(TENSOR_FILE_VERSION, 8);
  header.writeUInt32LE(table.length, 12);
  hash.digest().copy(header, 16);
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    await writeFile(tmp, [header, table, ...tensors.map((t) => bytesOf(t.data))]);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

function parseTable(path: string, json: string, payloadBytes: number): TableEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error(`tensor file ${path}: tensor table is not valid JSON`);
  }
  const list =
    typeof parsed === "object" && parsed !== null && "tensors" in parsed ? parsed.tensors : undefined;
  if (!Array.isArray(list)) throw new Error(`tensor file ${path}: tensor table has no "tensors" array`);
  const entries: TableEntry[] = [];
  const seen = new Set<string>();
  let expectedOffset = 0;
  for (const [i, raw] of list.entries()) {
    const e = raw as Partial<TableEntry>;
    const where = `tensor file ${path}: tensors[${i}]`;
    if (typeof e.name !== "string" || e.name.length === 0) throw new Error(`${where}.name must be a string`);
    if (seen.has(e.name)) throw new Error(`${where}.name "${e.name}" is duplicated`);
    seen.add(e.name);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new Error(`${where}.shape must be an array of positive integers`);
    }
    if (e.length !== shapeSize(e.shape)) throw new Error(`${where}.length does not match its shape`);
    if (e.offset !== expectedOffset) throw new Error(`${where}.offset is not contiguous`);
    expectedOffset += e.length * 4;
    entries.push({ name: e.name, shape: e.shape, offset: e.offset, length: e.length });
  }
  if (expectedOffset !== payloadBytes) {
    throw new Error(
      `tensor file ${path}: payload is ${payloadBytes} bytes, table describes ${expectedOffset}`,
    );
  }
  return entries;
}

/** Reads and verifies a tensor file (magic, version, checksum, table); returns fresh buffers. */
export async function readTensorFile(path: string): Promise<NamedTensor[]> {
  requireLittleEndian();
  const buf = await readFile(path);
  if (buf.length < HEADER_BYTES || buf.toString("ascii", 0, 8) !== TENSOR_FILE_MAGIC) {
    throw new Error(`tensor file ${path}: wrong magic (not an Esper parameter file)`);
  }
  const version = buf.readUInt32LE(8);
  if (version !== TENSOR_FILE_VERSION) {
    throw new Error(`tensor file ${path}: unsupported version ${version} (expected ${TENSOR_FILE_VERSION})`);
  }
  const tableBytes = buf.readUInt32LE(12);
  if (HEADER_BYTES + tableBytes > buf.length) throw new Error(`tensor file ${path}: truncated tensor table`);
  const body = buf.subarray(HEADER_BYTES);
  const digest = createHash("sha256").update(body).digest();
  if (!digest.equals(buf.subarray(16, 48))) {
    throw new Error(`tensor file ${path}: checksum mismatch (file is corrupt or truncated)`);
  }
  const payload = body.subarray(tableBytes);
  const entries = parseTable(path, body.toString("utf8", 0, tableBytes), payload.length);
  return entries.map((e) => {
    const data = new Float32Array(e.length);
    payload.copy(bytesOf(data), 0, e.offset, e.offset + e.length * 4);
    return { name: e.name, shape: e.shape, data };
  });
}
