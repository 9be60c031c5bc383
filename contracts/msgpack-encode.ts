import type { ExtData } from "@msgpack/msgpack";
import { extensionCodec, FLOAT32_ARRAY_EXT } from "./msgpack-extensions.ts";

/** Deepest array/map nesting {@link encodeMsgpack} writes (the default of @msgpack/msgpack's Encoder). */
const MAX_DEPTH = 100;
const INITIAL_BUFFER_BYTES = 16 * 1024;
/** Strings up to this many characters are written in JavaScript when they are ASCII. */
const SHORT_STRING_MAX_CHARS = 64;
const utf8 = new TextEncoder();

/**
 * Encodes `value` as msgpack, byte for byte what `@msgpack/msgpack`'s `Encoder` with
 * `{ extensionCodec, ignoreUndefined: true }` writes for well-formed strings: smallest integer format for
 * safe integers (-0 as 0), float64 otherwise, map keys in `Object.keys` order with undefined values
 * left out, Float32Array as extension type 1, other typed arrays as bin, Date as the timestamp
 * extension. A lone UTF-16 surrogate is written as U+FFFD. Returns a fresh Uint8Array.
 */
export function encodeMsgpack(value: unknown): Uint8Array {
  if (shared.busy) return new Writer(INITIAL_BUFFER_BYTES).encode(value);
  shared.busy = true;
  try {
    return shared.encode(value);
  } finally {
    shared.busy = false;
  }
}

class Writer {
  busy = false;
  private bytes: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  encode(value: unknown): Uint8Array {
    this.pos = 0;
    this.value(value, 1);
    return this.bytes.slice(0, this.pos);
  }

  private value(v: unknown, depth: number): void {
    if (depth > MAX_DEPTH) throw new Error(`msgpack: objects nested deeper than ${MAX_DEPTH} levels`);
    if (typeof v === "number") this.number(v);
    else if (typeof v === "string") this.string(v);
    else if (typeof v === "boolean") this.u8(v ? 0xc3 : 0xc2);
    else if (v === undefined || v === null) this.u8(0xc0);
    else if (typeof v === "object") this.object(v, depth);
    else throw new Error(`msgpack: cannot encode a ${typeof v}`);
  }

  private object(v: object, depth: number): void {
    const proto = Object.getPrototypeOf(v);
    if (Array.isArray(v)) this.array(v, depth);
    else if (proto === Object.prototype || proto === null) this.map(v as Record<string, unknown>, depth);
    else if (v instanceof Float32Array) {
      this.ext(FLOAT32_ARRAY_EXT, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    } else if (v instanceof Uint8Array) this.bin(v);
    else {
      const ext = extensionCodec.tryToEncode(v, undefined);
      if (ext !== null) this.extData(ext);
      else if (ArrayBuffer.isView(v)) this.bin(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      else this.map(v as Record<string, unknown>, depth);
    }
  }

  private number(n: number): void {
    if (!Number.isSafeInteger(n)) {
      this.ensure(9);
      this.bytes[this.pos] = 0xcb;
      this.view.setFloat64(this.pos + 1, n);
      this.pos += 9;
    } else if (n >= 0) {
      if (n < 0x80) this.u8(n);
      else if (n < 0x100) this.head(0xcc, 1, n);
      else if (n < 0x10000) this.head(0xcd, 2, n);
      else if (n < 0x1_0000_0000) this.head(0xce, 4, n);
      else this.int64(0xcf, n);
    } else if (n >= -0x20) this.u8(0xe0 | (n + 0x20));
    else if (n >= -0x80) this.head(0xd0, 1, n & 0xff);
    else if (n >= -0x8000) this.head(0xd1, 2, n & 0xffff);
    else if (n >= -0x8000_0000) this.head(0xd2, 4, n >>> 0);
    else this.int64(0xd3, n);
  }

  /** A 64-bit integer: the high 32 bits (floor division, so two's complement for negatives), then the low. */
  private int64(type: number, n: number): void {
    this.ensure(9);
    const high = Math.floor(n / 0x1_0000_0000);
    this.bytes[this.pos] = type;
    this.view.setUint32(this.pos + 1, high >>> 0);
    this.view.setUint32(this.pos + 5, n >>> 0);
    this.pos += 9;
  }

  private string(s: string): void {
    const n = s.length;
    if (n <= SHORT_STRING_MAX_CHARS) {
      this.ensure(2 + n);
      const bytes = this.bytes;
      const header = n < 32 ? 1 : 2;
      const start = this.pos + header;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        bytes[start + i] = c;
      }
      if (i === n) {
        if (header === 1) bytes[this.pos] = 0xa0 | n;
        else {
          bytes[this.pos] = 0xd9;
          bytes[this.pos + 1] = n;
        }
        this.pos = start + n;
        return;
      }
    }
    this.utf8String(s);
  }

  /** Writes `s` with TextEncoder behind a header sized for the worst case, then shrinks the header. */
  private utf8String(s: string): void {
    const most = s.length * 3;
    const reserved = stringHeaderSize(most);
    this.ensure(reserved + most);
    const at = this.pos;
    const { written } = utf8.encodeInto(s, this.bytes.subarray(at + reserved));
    const header = stringHeaderSize(written);
    if (header !== reserved) this.bytes.copyWithin(at + header, at + reserved, at + reserved + written);
    if (header === 1) this.bytes[at] = 0xa0 | written;
    else if (header === 2) {
      this.bytes[at] = 0xd9;
      this.bytes[at + 1] = written;
    } else if (header === 3) {
      this.bytes[at] = 0xda;
      this.view.setUint16(at + 1, written);
    } else {
      this.bytes[at] = 0xdb;
      this.view.setUint32(at + 1, written);
    }
    this.pos = at + header + written;
  }

  private array(a: readonly unknown[], depth: number): void {
    const n = a.length;
    if (n < 16) this.u8(0x90 | n);
    else if (n < 0x10000) this.head(0xdc, 2, n);
    else this.head(0xdd, 4, n);
    for (let i = 0; i < n; i++) this.value(a[i], depth + 1);
  }

  /** A map: the header is sized for every key, then shrunk when undefined values were left out. */
  private map(o: Record<string, unknown>, depth: number): void {
    const keys = Object.keys(o);
    const reserved = mapHeaderSize(keys.length);
    this.ensure(reserved);
    const at = this.pos;
    this.pos += reserved;
    let count = 0;
    for (const key of keys) {
      const v = o[key];
      if (v === undefined) continue;
      count++;
      this.string(key);
      this.value(v, depth + 1);
    }
    const header = mapHeaderSize(count);
    if (header !== reserved) {
      this.bytes.copyWithin(at + header, at + reserved, this.pos);
      this.pos -= reserved - header;
    }
    if (header === 1) this.bytes[at] = 0x80 | count;
    else if (header === 3) {
      this.bytes[at] = 0xde;
      this.view.setUint16(at + 1, count);
    } else {
      this.bytes[at] = 0xdf;
      this.view.setUint32(at + 1, count);
    }
  }

  private bin(b: Uint8Array): void {
    const n = b.byteLength;
    if (n < 0x100) this.head(0xc4, 1, n);
    else if (n < 0x10000) this.head(0xc5, 2, n);
    else this.head(0xc6, 4, n);
    this.raw(b);
  }

  private extData(ext: ExtData): void {
    if (!(ext.data instanceof Uint8Array))
      throw new Error(`msgpack: extension ${ext.type} did not give bytes`);
    this.ext(ext.type, ext.data);
  }

  private ext(type: number, data: Uint8Array): void {
    const n = data.byteLength;
    if (n === 1) this.u8(0xd4);
    else if (n === 2) this.u8(0xd5);
    else if (n === 4) this.u8(0xd6);
    else if (n === 8) this.u8(0xd7);
    else if (n === 16) this.u8(0xd8);
    else if (n < 0x100) this.head(0xc7, 1, n);
    else if (n < 0x10000) this.head(0xc8, 2, n);
    else this.head(0xc9, 4, n);
    this.u8(type & 0xff);
    this.raw(data);
  }

  /** A type byte followed by a big-endian unsigned integer of `size` bytes (1, 2 or 4). */
  private head(type: number, size: 1 | 2 | 4, n: number): void {
    this.ensure(1 + size);
    const at = this.pos;
    this.bytes[at] = type;
    if (size === 1) this.bytes[at + 1] = n;
    else if (size === 2) this.view.setUint16(at + 1, n);
    else this.view.setUint32(at + 1, n);
    this.pos = at + 1 + size;
  }

  private u8(b: number): void {
    this.ensure(1);
    this.bytes[this.pos++] = b;
  }

  private raw(data: Uint8Array): void {
    this.ensure(data.byteLength);
    this.bytes.set(data, this.pos);
    this.pos += data.byteLength;
  }

  private ensure(n: number): void {
    const needed = this.pos + n;
    if (needed <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(needed, this.bytes.length * 2));
    grown.set(this.bytes.subarray(0, this.pos));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }
}

function stringHeaderSize(byteLength: number): number {
  return byteLength < 32 ? 1 : byteLength < 0x100 ? 2 : byteLength < 0x10000 ? 3 : 5;
}

function mapHeaderSize(count: number): number {
  return count < 16 ? 1 : count < 0x10000 ? 3 : 5;
}

const shared = new Writer(INITIAL_BUFFER_BYTES);
