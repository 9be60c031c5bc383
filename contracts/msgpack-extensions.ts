import { ExtensionCodec } from "@msgpack/msgpack";

/** msgpack extension type carrying a little-endian Float32Array. */
export const FLOAT32_ARRAY_EXT = 1;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("contracts/codec: Float32Array wire format is little-endian; this platform is big-endian");
}

/** A Float32Array copied out of the little-endian extension payload. Throws when the length is not a multiple of 4. */
export function float32ArrayOf(data: Uint8Array): Float32Array {
  if (data.byteLength % 4 !== 0) throw new Error("Float32Array extension length is not a multiple of 4");
  const copy = new Uint8Array(data.byteLength);
  copy.set(data);
  return new Float32Array(copy.buffer);
}

/**
 * The msgpack extensions of the Leyline wire format (Float32Array) for `@msgpack/msgpack`'s Encoder and
 * Decoder; the codec's own encoder and decoder implement the same format.
 */
export const extensionCodec = new ExtensionCodec();
extensionCodec.register({
  type: FLOAT32_ARRAY_EXT,
  encode: (value: unknown) =>
    value instanceof Float32Array ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : null,
  decode: float32ArrayOf,
});
