/**
 * Minimal protocol-buffers writer: varints, tags, length-delimited fields and packed arrays.
 * Enough to encode the ONNX messages in `model-proto.ts`; no reflection, no unknown fields.
 */

const textEncoder = new TextEncoder();

/** Wire types of the protobuf encoding. */
export const WireType = { VARINT: 0, I64: 1, LEN: 2, I32: 5 } as const;

/** Appends protobuf-encoded fields to a growing byte buffer. */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Writes an unsigned varint (up to 2^53; negative numbers are written as 64-bit two's complement). */
  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
    return this;
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** Writes an int32/int64/enum/bool field (varint). */
  int(field: number, value: number | bigint | boolean): this {
    this.tag(field, WireType.VARINT);
    return this.varint(typeof value === "boolean" ? (value ? 1 : 0) : value);
  }

  /** Writes a 32-bit float field. */
  float(field: number, value: number): this {
    this.tag(field, WireType.I32);
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, value, true);
    this.len += 4;
    return this;
  }

  /** Writes a bytes field. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WireType.LEN);
    this.varint(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.len);
    this.len += value.length;
    return this;
  }

  /** Writes a UTF-8 string field. */
  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /** Writes an embedded message field produced by `write`. */
  message(field: number, write: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    write(inner);
    return this.bytes(field, inner.finish());
  }

  /** Writes a packed repeated varint field (int64/int32). */
  packedInts(field: number, values: readonly (number | bigint)[]): this {
    if (values.length === 0) return this;
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  /** Writes a packed repeated float field. */
  packedFloats(field: number, values: readonly number[] | Float32Array): this {
    if (values.length === 0) return this;
    const data = Float32Array.from(values);
    return this.bytes(field, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  /** The bytes written so far (a copy-free view). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}
