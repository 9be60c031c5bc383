/**
 * Minimal protocol-buffers reader: iterates the fields of one message. Used to decode ONNX kernel
 * artifacts (`decode.ts`). Malformed input throws with the byte offset.
 */

const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** One decoded field: its number, wire type and raw value (varint as bigint, LEN as bytes). */
export type ProtoField =
  | { readonly field: number; readonly wire: 0; readonly value: bigint }
  | { readonly field: number; readonly wire: 1; readonly value: Uint8Array }
  | { readonly field: number; readonly wire: 2; readonly value: Uint8Array }
  | { readonly field: number; readonly wire: 5; readonly value: Uint8Array };

function readVarint(buf: Uint8Array, pos: { at: number }): bigint {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos.at >= buf.length) throw new Error(`protobuf: truncated varint at byte ${pos.at}`);
    const b = buf[pos.at++] ?? 0;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return result;
    shift += 7n;
    if (shift > 63n) throw new Error(`protobuf: varint too long at byte ${pos.at}`);
  }
}

/** Splits a message into its fields, in order. */
export function readFields(buf: Uint8Array): ProtoField[] {
  const out: ProtoField[] = [];
  const pos = { at: 0 };
  while (pos.at < buf.length) {
    const key = readVarint(buf, pos);
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      out.push({ field, wire, value: readVarint(buf, pos) });
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      if (pos.at + size > buf.length)
        throw new Error(`protobuf: truncated fixed field ${field} at ${pos.at}`);
      out.push({ field, wire, value: buf.subarray(pos.at, pos.at + size) });
      pos.at += size;
    } else if (wire === 2) {
      const size = Number(readVarint(buf, pos));
      if (pos.at + size > buf.length) throw new Error(`protobuf: truncated field ${field} at ${pos.at}`);
      out.push({ field, wire, value: buf.subarray(pos.at, pos.at + size) });
      pos.at += size;
    } else {
      throw new Error(`protobuf: unsupported wire type ${wire} for field ${field} at byte ${pos.at}`);
    }
  }
  return out;
}

/** Decodes a packed (or single) varint field value into numbers. */
export function readPackedInts(f: ProtoField): number[] {
  if (f.wire === 0) return [Number(BigInt.asIntN(64, f.value))];
  if (f.wire !== 2) throw new Error(`protobuf: field ${f.field} is not an integer list`);
  const out: number[] = [];
  const pos = { at: 0 };
  while (pos.at < f.value.length) out.push(Number(BigInt.asIntN(64, readVarint(f.value, pos))));
  return out;
}

/** Decodes a packed (or single) float field value. */
export function readPackedFloats(f: ProtoField): number[] {
  if (f.wire !== 2 && f.wire !== 5) throw new Error(`protobuf: field ${f.field} is not a float list`);
  const view = new DataView(f.value.buffer, f.value.byteOffset, f.value.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= f.value.byteLength; i += 4) out.push(view.getFloat32(i, true));
  return out;
}

/** The varint value of a field as a number. */
export function fieldInt(f: ProtoField): number {
  if (f.wire !== 0) throw new Error(`protobuf: field ${f.field} is not a varint`);
  return Number(BigInt.asIntN(64, f.value));
}

/** The bytes of a length-delimited field. */
export function fieldBytes(f: ProtoField): Uint8Array {
  if (f.wire !== 2) throw new Error(`protobuf: field ${f.field} is not length-delimited`);
  return f.value;
}

/** The UTF-8 string of a length-delimited field. */
export function fieldString(f: ProtoField): string {
  return textDecoder.decode(fieldBytes(f));
}

/** The float value of a 32-bit field. */
export function fieldFloat(f: ProtoField): number {
  if (f.wire !== 5) throw new Error(`protobuf: field ${f.field} is not a 32-bit float`);
  return new DataView(f.value.buffer, f.value.byteOffset, 4).getFloat32(0, true);
}
