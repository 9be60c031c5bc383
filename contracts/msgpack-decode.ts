import { extensionCodec } from "./msgpack-extensions.ts";

/** Deepest array/map nesting {@link decodeMsgpack} accepts (the encoder of @msgpack/msgpack stops at 100 too). */
export const MAX_NESTING_DEPTH = 100;

/** The bytes are not one well-formed msgpack value. */
export class MsgpackDecodeError extends Error {
  override readonly name = "MsgpackDecodeError";
}

/** Strings up to this many bytes are looked up in the string cache. */
const CACHED_MAX_BYTES = 32;
/** The string cache has 2^CACHE_SLOT_BITS slots. */
const CACHE_SLOT_BITS = 12;
const CACHE_SLOTS = 1 << CACHE_SLOT_BITS;
/** The bytes of the string in each slot, CACHED_MAX_BYTES apart. */
const cacheBytes = new Uint8Array(CACHE_SLOTS * CACHED_MAX_BYTES);
/** The byte length of the string in each slot; 0 for an empty slot. */
const cacheLengths = new Uint8Array(CACHE_SLOTS);
const cacheStrings: string[] = new Array<string>(CACHE_SLOTS).fill("");

/** Strings up to this many bytes are decoded in JavaScript when they are ASCII (a TextDecoder call costs more). */
const SHORT_STRING_MAX_BYTES = 64;
const utf8 = new TextDecoder();

/**
 * Decodes one msgpack value from `bytes`, producing what `@msgpack/msgpack`'s `Decoder` with the same
 * `extensionCodec` produces: plain objects for maps (string or number keys, `__proto__` refused), bin as
 * a view into `bytes`, 64-bit integers as (possibly rounded) numbers, extensions through `extensionCodec`
 * (Float32Array copied out of `bytes`, timestamp → Date, others → ExtData). Invalid UTF-8
 * becomes U+FFFD. Throws {@link MsgpackDecodeError} for truncated or trailing bytes, an unknown type
 * byte, a bad map key or nesting deeper than {@link MAX_NESTING_DEPTH}.
 */
export function decodeMsgpack(bytes: Uint8Array): unknown {
  const reader = new Reader(bytes);
  const value = reader.value(0);
  if (reader.pos !== bytes.byteLength) {
    throw new MsgpackDecodeError(
      `${bytes.byteLength - reader.pos} extra byte(s) after the value at offset ${reader.pos}`,
    );
  }
  return value;
}

class Reader {
  pos = 0;
  private readonly view: DataView;
  private readonly end: number;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.end = bytes.byteLength;
  }

  value(depth: number): unknown {
    const b = this.u8();
    if (b < 0x80) return b;
    if (b < 0x90) return this.map(b - 0x80, depth);
    if (b < 0xa0) return this.array(b - 0x90, depth);
    if (b < 0xc0) return this.string(b - 0xa0);
    if (b >= 0xe0) return b - 0x100;
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.bin(this.u8());
      case 0xc5:
        return this.bin(this.u16());
      case 0xc6:
        return this.bin(this.u32());
      case 0xc7:
        return this.ext(this.u8());
      case 0xc8:
        return this.ext(this.u16());
      case 0xc9:
        return this.ext(this.u32());
      case 0xca:
        return this.view.getFloat32(this.take(4));
      case 0xcb:
        return this.view.getFloat64(this.take(8));
      case 0xcc:
        return this.u8();
      case 0xcd:
        return this.u16();
      case 0xce:
        return this.u32();
      case 0xcf: {
        const at = this.take(8);
        return this.view.getUint32(at) * 0x1_0000_0000 + this.view.getUint32(at + 4);
      }
      case 0xd0:
        return this.view.getInt8(this.take(1));
      case 0xd1:
        return this.view.getInt16(this.take(2));
      case 0xd2:
        return this.view.getInt32(this.take(4));
      case 0xd3: {
        const at = this.take(8);
        return this.view.getInt32(at) * 0x1_0000_0000 + this.view.getUint32(at + 4);
      }
      case 0xd4:
        return this.ext(1);
      case 0xd5:
        return this.ext(2);
      case 0xd6:
        return this.ext(4);
      case 0xd7:
        return this.ext(8);
      case 0xd8:
        return this.ext(16);
      case 0xd9:
        return this.string(this.u8());
      case 0xda:
        return this.string(this.u16());
      case 0xdb:
        return this.string(this.u32());
      case 0xdc:
        return this.array(this.u16(), depth);
      case 0xdd:
        return this.array(this.u32(), depth);
      case 0xde:
        return this.map(this.u16(), depth);
      case 0xdf:
        return this.map(this.u32(), depth);
      default:
        throw new MsgpackDecodeError(`unknown type byte 0x${b.toString(16)} at offset ${this.pos - 1}`);
    }
  }

  private array(size: number, depth: number): unknown[] {
    if (depth >= MAX_NESTING_DEPTH) throw this.tooDeep();
    if (size > this.end - this.pos) throw this.truncated();
    const out = new Array<unknown>(size);
    for (let i = 0; i < size; i++) out[i] = this.value(depth + 1);
    return out;
  }

  private map(size: number, depth: number): Record<string, unknown> {
    if (depth >= MAX_NESTING_DEPTH) throw this.tooDeep();
    if (size * 2 > this.end - this.pos) throw this.truncated();
    const out: Record<string, unknown> = {};
    for (let i = 0; i < size; i++) {
      const key = this.key(depth);
      out[key] = this.value(depth + 1);
    }
    return out;
  }

  /** A map key: a string (fixstr keys take the short path) or a number; `__proto__` is refused. */
  private key(depth: number): string | number {
    const at = this.pos;
    const b = this.bytes[at];
    const key =
      b !== undefined && b >= 0xa0 && b < 0xc0 ? this.string(this.u8() - 0xa0) : this.value(depth + 1);
    if (typeof key === "string") {
      if (key === "__proto__") throw new MsgpackDecodeError(`map key at offset ${at} is __proto__`);
      return key;
    }
    if (typeof key === "number") return key;
    throw new MsgpackDecodeError(
      `map key at offset ${at} must be a string or a number, not ${key === null ? "nil" : typeof key}`,
    );
  }

  /** A string of `length` bytes at `start`, from the cache when those bytes were seen before. */
  private cached(start: number, length: number): string {
    const bytes = this.bytes;
    const end = start + length;
    let h = Math.imul(length ^ (bytes[start] as number), 0x9e3779b1);
    h = Math.imul(h ^ (bytes[start + (length >> 1)] as number), 0x9e3779b1);
    h = Math.imul(h ^ (bytes[end - 2] as number), 0x9e3779b1);
    h = Math.imul(h ^ (bytes[end - 1] as number), 0x9e3779b1);
    const slot = h >>> (32 - CACHE_SLOT_BITS);
    const base = slot * CACHED_MAX_BYTES;
    if (cacheLengths[slot] === length) {
      let i = 0;
      while (i < length && cacheBytes[base + i] === bytes[start + i]) i++;
      if (i === length) return cacheStrings[slot] as string;
    }
    const s = this.utf8(start, length);
    cacheBytes.set(bytes.subarray(start, start + length), base);
    cacheLengths[slot] = length;
    cacheStrings[slot] = s;
    return s;
  }

  private string(length: number): string {
    const start = this.take(length);
    if (length === 0) return "";
    return length <= CACHED_MAX_BYTES ? this.cached(start, length) : this.utf8(start, length);
  }

  private utf8(start: number, length: number): string {
    if (length <= SHORT_STRING_MAX_BYTES) {
      const bytes = this.bytes;
      let s = "";
      for (let i = start; i < start + length; i++) {
        const c = bytes[i] as number;
        if (c >= 0x80) return utf8.decode(bytes.subarray(start, start + length));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return utf8.decode(this.bytes.subarray(start, start + length));
  }

  private bin(length: number): Uint8Array {
    const start = this.take(length);
    return this.bytes.subarray(start, start + length);
  }

  private ext(length: number): unknown {
    const type = this.view.getInt8(this.take(1));
    const start = this.take(length);
    return extensionCodec.decode(this.bytes.subarray(start, start + length), type, undefined);
  }

  private u8(): number {
    return this.bytes[this.take(1)] as number;
  }

  private u16(): number {
    return this.view.getUint16(this.take(2));
  }

  private u32(): number {
    return this.view.getUint32(this.take(4));
  }

  /** Advances over `n` bytes and returns the offset of the first; throws when fewer remain. */
  private take(n: number): number {
    const at = this.pos;
    if (n > this.end - at) throw this.truncated();
    this.pos = at + n;
    return at;
  }

  private truncated(): MsgpackDecodeError {
    return new MsgpackDecodeError(`insufficient data at offset ${this.pos} of ${this.end}`);
  }

  private tooDeep(): MsgpackDecodeError {
    return new MsgpackDecodeError(`nesting deeper than ${MAX_NESTING_DEPTH} levels at offset ${this.pos}`);
  }
}
