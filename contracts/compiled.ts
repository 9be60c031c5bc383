import { z } from "zod";
import { type MessageType, messageSchemas } from "./registry.ts";

/**
 * Every message schema compiled by `z.compile`: a generated fast path per schema that hands any input
 * it does not accept to the schema's own parser, so issues (paths and messages) are the schema's own.
 */
export const compiledSchemas: { readonly [T in MessageType]: (typeof messageSchemas)[T] } =
  Object.fromEntries(
    Object.entries(messageSchemas).map(([type, schema]) => [type, z.compile(schema)]),
  ) as never;
