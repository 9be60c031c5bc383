import { Decoder, Encoder, ExtensionCodec } from "@msgpack/msgpack";
import { SystemLimits } from "./budgets.ts";
import { ContractError } from "./errors.ts";
import { type MessageInput, type MessageOf, type MessageType, messageSchemas } from "./registry.ts";

/** msgpack extension type carrying a little-endian Float32Array. */
export const FLOAT32_ARRAY_EXT = 1;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("contracts/codec: Float32Array wire format is little-endian; this platform is big-endian");
}

/** The msgpack extensions of the Leyline wire format (Float32Array). */
export const extensionCodec = new ExtensionCodec();
extensionCodec.register({
  type: FLOAT32_ARRAY_EXT,
  encode: (value: unknown) =>
    value instanceof Float32Array ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : null,
  decode: (data: Uint8Array) => {
    if (data.byteLength % 4 !== 0) throw new Error("Float32Array extension length is not a multiple of 4");
    const copy = new Uint8Array(data.byteLength);
    copy.set(data);
    return new Float32Array(copy.buffer);
  },
});

const encoder = new Encoder({ extensionCodec, ignoreUndefined: true });
const decoder = new Decoder({ extensionCodec });

/** Validates `msg` against the schema of `type`, then encodes it as msgpack. Throws ContractError. */
export function encode<T extends MessageType>(type: T, msg: MessageInput<T>): Uint8Array {
  const bytes = encoder.encode(validate(type, msg));
  if (bytes.byteLength > SystemLimits.maxMessageSizeBytes) throw oversized(type, bytes.byteLength);
  return bytes;
}

/** Decodes msgpack `bytes` and validates them as `type`. Throws ContractError naming the field path. */
export function decode<T extends MessageType>(type: T, bytes: Uint8Array): MessageOf<T> {
  if (bytes.byteLength > SystemLimits.maxMessageSizeBytes) throw oversized(type, bytes.byteLength);
  let value: unknown;
  try {
    value = decoder.decode(bytes);
  } catch (err) {
    throw new ContractError(type, [{ path: [], reason: `not valid msgpack: ${(err as Error).message}` }]);
  }
  return validate(type, value);
}

/** Validates an in-memory value as `type` (applying schema defaults). Throws ContractError. */
export function validate<T extends MessageType>(type: T, value: unknown): MessageOf<T> {
  const result = messageSchemas[type].safeParse(value);
  if (!result.success) throw ContractError.fromZod(type, result.error);
  return result.data as MessageOf<T>;
}

function oversized(type: string, size: number): ContractError {
  return new ContractError(type, [
    {
      path: [],
      reason: `payload of ${size} bytes exceeds the limit of ${SystemLimits.maxMessageSizeBytes} bytes`,
    },
  ]);
}
