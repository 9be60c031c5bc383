import { z } from "zod";
import { type MessageType, messageSchemas } from "./registry.ts";

/**
 * Every message schema compiled by `z.compile`: a generated fast path per schema that hands any input
 * it does not accept to the schema's own parser, so issues (paths and messages) are the schema's own.
 * Each is compiled on its first use and kept: a process compiles only the types it validates
 * (compiling all of them took ~0.2 s of every actor's start).
 */
export const compiledSchemas = {} as { readonly [T in MessageType]: (typeof messageSchemas)[T] };
for (const [type, schema] of Object.entries(messageSchemas)) {
  Object.defineProperty(compiledSchemas, type, {
    enumerable: true,
    configurable: true,
    get() {
      const compiled = z.compile(schema);
      Object.defineProperty(compiledSchemas, type, { value: compiled, enumerable: true });
      return compiled;
    },
  });
}
