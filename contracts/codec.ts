import { SystemLimits } from "./budgets.ts";
import { compiledSchemas } from "./compiled.ts";
import { ContractError } from "./errors.ts";
import { decodeMsgpack } from "./msgpack-decode.ts";
import { encodeMsgpack } from "./msgpack-encode.ts";
import type { MessageInput, MessageOf, MessageType } from "./registry.ts";

export { extensionCodec, FLOAT32_ARRAY_EXT } from "./msgpack-extensions.ts";

/** Validates `msg` against the schema of `type`, then encodes it as msgpack. Throws ContractError. */
export function encode<T extends MessageType>(type: T, msg: MessageInput<T>): Uint8Array {
  const bytes = encodeMsgpack(validate(type, msg));
  if (bytes.byteLength > SystemLimits.maxMessageSizeBytes) throw oversized(type, bytes.byteLength);
  return bytes;
}

/** Decodes msgpack `bytes` and validates them as `type`. Throws ContractError naming the field path. */
export function decode<T extends MessageType>(type: T, bytes: Uint8Array): MessageOf<T> {
  if (bytes.byteLength > SystemLimits.maxMessageSizeBytes) throw oversized(type, bytes.byteLength);
  let value: unknown;
  try {
    value = decodeMsgpack(bytes);
  } catch (err) {
    throw new ContractError(type, [{ path: [], reason: `not valid msgpack: ${(err as Error).message}` }]);
  }
  return validate(type, value);
}

/** Validates an in-memory value as `type` (applying schema defaults). Throws ContractError. */
export function validate<T extends MessageType>(type: T, value: unknown): MessageOf<T> {
  const result = compiledSchemas[type].safeParse(value);
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
